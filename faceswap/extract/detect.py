"""Face detection: facenet-pytorch's MTCNN, batched, on a downscaled frame,
with a cheap full-resolution refinement step that tracking reuses.

MTCNN (Zhang et al. 2016, "Joint Face Detection and Alignment using
Multi-task Cascaded Convolutional Networks") runs three nets: P-net over an
image pyramid proposes boxes, R-net filters them, O-net scores each 48x48
box crop and regresses the box and five landmarks. The pyramid is what costs
time (~200 ms on a 720p frame on two CPU cores), so:

- `Detector.detect` runs the whole cascade on frames shrunk to `detect_size`
  (longest side), batched, then `refine`s each face at full resolution;
- `Detector.refine` runs only R-net and O-net on given boxes (a few ms a
  face): it turns a rough box (the downscaled detection, or the previous
  frame's face) into a precise box, a score and landmarks. Tracking is
  `refine` on the last box.

Landmark order is MTCNN's: left eye, right eye, nose, mouth left, mouth right
(as seen in the image). All arrays are float32 in frame pixel coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from faceswap.runtime import pick_device


@dataclass
class Faces:
    """Faces found in one frame, best first.

    boxes: (K, 4) x1, y1, x2, y2; scores: (K,); landmarks: (K, 5, 2) x, y;
    distance: (K,) identity distance to the wanted person, or None when nobody is wanted.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    distance: np.ndarray | None = None

    @classmethod
    def empty(cls) -> "Faces":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index) -> "Faces":
        """A subset (index: int array or boolean mask), keeping the order given."""
        distance = None if self.distance is None else self.distance[index]
        return Faces(self.boxes[index], self.scores[index], self.landmarks[index], distance)

    @property
    def sizes(self) -> np.ndarray:
        """Face size in pixels: the mean of box width and height, (K,)."""
        return ((self.boxes[:, 2] - self.boxes[:, 0]) + (self.boxes[:, 3] - self.boxes[:, 1])) / 2


def square_boxes(boxes: np.ndarray) -> np.ndarray:
    """Grow each box (K, 4) to a square around its centre (as MTCNN feeds its nets)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx, cy = boxes[:, 0] + w / 2, boxes[:, 1] + h / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], 1).astype(np.float32)


def _crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Crop integer-rounded `box` from `image`, zero-padding outside the frame."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    out = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    return out


class Detector:
    """MTCNN face detector.

    device: "cpu", "cuda", None (CUDA when present). min_size: smallest face
    to find, in frame pixels. detect_size: the longest side frames are shrunk
    to before the full cascade (0/None: never shrink). thresholds: MTCNN's
    three stage thresholds.
    """

    def __init__(
        self,
        device: str | torch.device | None = None,
        min_size: int = 40,
        detect_size: int | None = 640,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    ) -> None:
        from facenet_pytorch import MTCNN  # heavy import: only when a detector is built

        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.min_size = int(min_size)
        self.detect_size = int(detect_size or 0)
        self.thresholds = tuple(float(t) for t in thresholds)
        self._mtcnn = MTCNN(
            keep_all=True,
            min_face_size=20,
            thresholds=list(self.thresholds),
            post_process=False,
            device=self.device,
        ).eval()
        self._onet = self._mtcnn.onet

    # -- full detection ----------------------------------------------------------------------
    def scale_for(self, shape: tuple[int, ...]) -> float:
        """The factor frames of this (H, W, ...) shape are shrunk by before detection."""
        longest = max(shape[0], shape[1])
        if not self.detect_size or longest <= self.detect_size:
            return 1.0
        return self.detect_size / longest

    def detect(self, images: list[np.ndarray], refine: bool = True) -> list[Faces]:
        """Full MTCNN on each image (RGB uint8 HxWx3), best score first.

        Images of one shape go through the cascade as one batch. With
        `refine`, each face found on the shrunk frame is re-measured by O-net
        at full resolution (precise landmarks at no pyramid cost).
        """
        results: list[Faces | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape, []).append(i)
        for shape, idx in groups.items():
            scale = self.scale_for(shape)
            if scale < 1.0:
                size = (max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale)))
                batch = np.stack([cv2.resize(images[i], size, interpolation=cv2.INTER_AREA) for i in idx])
            else:
                batch = np.stack([images[i] for i in idx])
            self._mtcnn.min_face_size = max(12.0, self.min_size * scale)
            if min(batch.shape[1:3]) < self._mtcnn.min_face_size:
                # smaller than the smallest face looked for: MTCNN's image pyramid would have
                # no level at all (and fail inside facenet-pytorch), so there is no face here
                for i in idx:
                    results[i] = Faces.empty()
                continue
            with torch.inference_mode():
                boxes, probs, points = self._mtcnn.detect(batch, landmarks=True)
            for j, i in enumerate(idx):
                if boxes[j] is None:
                    results[i] = Faces.empty()
                    continue
                faces = Faces(
                    np.asarray(boxes[j]).astype(np.float32).reshape(-1, 4) / scale,
                    np.asarray(probs[j]).astype(np.float32).reshape(-1),
                    np.asarray(points[j]).astype(np.float32).reshape(-1, 5, 2) / scale,
                )
                if refine and scale < 1.0 and len(faces):
                    refined = self.refine(images[i], faces.boxes)
                    # keep the cascade's decision on which faces exist; take O-net's measurement
                    faces = Faces(refined.boxes, np.minimum(refined.scores, faces.scores), refined.landmarks)
                order = np.argsort(-faces.scores, kind="stable")
                results[i] = faces.take(order)
        return results  # type: ignore[return-value]

    # -- O-net only: refinement and tracking -------------------------------------------------
    def _net_on_boxes(self, net, image: np.ndarray, boxes: np.ndarray, side: int):
        """Run an MTCNN stage on square crops of `boxes`; returns (squared boxes,
        crop boxes in MTCNN's convention, net outputs as numpy)."""
        sq = square_boxes(boxes)
        # MTCNN's (Matlab-born) convention: box x1..x2 covers pixels x1-1 .. x2-1, width x2-x1+1
        ib = np.round(sq).astype(np.float32) - np.float32([1, 1, 0, 0])
        crops = np.stack([cv2.resize(_crop(image, b), (side, side), interpolation=cv2.INTER_AREA) for b in ib])
        x = (torch.from_numpy(crops).permute(0, 3, 1, 2).float().to(self.device) - 127.5) * 0.0078125
        with torch.inference_mode():
            out = net(x)
        return sq, ib, [o.float().cpu().numpy() for o in out]

    def refine(self, image: np.ndarray, boxes: np.ndarray, steps: int = 1) -> Faces:
        """The last two MTCNN stages on rough `boxes` (K, 4) of `image`, at full resolution.

        R-net (24x24 crop) regresses each box as it would a P-net proposal,
        then O-net (48x48) scores it and regresses box and landmarks: the
        cascade without its pyramid, seeded by the given boxes. Seeding O-net
        through R-net keeps the landmarks within ~1% of the face size of full
        MTCNN's; O-net alone on the previous final box drifts to ~2%.
        `steps` > 1 repeats O-net on its own box. Returns Faces in the order
        of `boxes`; scores are O-net's face probability (low: the face is gone).
        """
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) == 0:
            return Faces.empty()
        sq, ib, (reg, _prob) = self._net_on_boxes(self._mtcnn.rnet, image, boxes, 24)
        wh = ib[:, 2:] - ib[:, :2]
        boxes = sq + reg * np.concatenate([wh, wh], 1)
        for _ in range(max(1, steps)):
            sq, ib, (reg, pts, prob) = self._net_on_boxes(self._onet, image, boxes, 48)
            bw, bh = ib[:, 2] - ib[:, 0], ib[:, 3] - ib[:, 1]
            landmarks = np.stack(
                [pts[:, :5] * bw[:, None] + ib[:, 0:1], pts[:, 5:] * bh[:, None] + ib[:, 1:2]], axis=2
            )
            boxes = sq + reg * np.stack([bw, bh, bw, bh], 1)
        return Faces(boxes.astype(np.float32), prob[:, 1].astype(np.float32), landmarks.astype(np.float32))
