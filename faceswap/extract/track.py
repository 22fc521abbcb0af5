"""Frame-to-frame face tracking: detect rarely, follow cheaply.

A full MTCNN pass costs a pyramid over the whole frame; a face in a video
barely moves between frames. So the tracker runs full detection on a key frame
(every `redetect_every` frames), and in between re-measures each face with
R-net and O-net on a box around where it was in the previous frame
(`Detector.refine`, a few ms a face). When O-net's score for a tracked face falls
below the threshold, the face shrinks below `min_size`, or it leaves the
frame, the face is lost and that frame gets a full detection at once; the
periodic key frames also pick up faces that entered the picture.

Key frames are known in advance, so `Tracker.process` detects all key frames
of a chunk as one batch (on a GPU, `redetect_every=1` is plain batched MTCNN).
"""

from __future__ import annotations

import numpy as np

from faceswap.extract.detect import Detector, Faces


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes a (N, 4) and b (M, 4)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def select_faces(faces: Faces, max_faces: int = 1, min_size: float = 0.0, threshold: float = 0.0) -> Faces:
    """Keep faces scoring >= threshold and at least min_size pixels, then the
    `max_faces` largest (largest first); duplicates (IoU > 0.5) are merged."""
    if len(faces) == 0:
        return faces
    keep = (faces.scores >= threshold) & (faces.sizes >= min_size)
    faces = faces.take(np.flatnonzero(keep))
    order = np.argsort(-faces.sizes, kind="stable")
    faces = faces.take(order)
    chosen: list[int] = []
    for i in range(len(faces)):
        if chosen and box_iou(faces.boxes[i : i + 1], faces.boxes[chosen]).max() > 0.5:
            continue
        chosen.append(i)
        if max_faces and len(chosen) >= max_faces:
            break
    return faces.take(np.asarray(chosen, dtype=np.int64))


class Tracker:
    """Follow up to `max_faces` faces through consecutive frames.

    redetect_every: full detection at least every N processed frames (1 = on
    every frame: the naive detector). threshold: O-net/MTCNN score a face must
    keep. min_size: smallest face (box side, frame pixels).
    """

    def __init__(
        self,
        detector: Detector,
        max_faces: int = 1,
        min_size: float = 40.0,
        threshold: float = 0.9,
        redetect_every: int = 25,
    ) -> None:
        self.detector = detector
        self.max_faces = max_faces
        self.min_size = min_size
        self.threshold = threshold
        self.redetect_every = max(1, int(redetect_every))
        self.faces: Faces = Faces.empty()
        self.since_detect = 0  # frames processed since the last full detection
        self.full_detections = 0
        self.tracked = 0

    def reset(self) -> None:
        """Forget the faces (e.g. a jump in the frame sequence)."""
        self.faces = Faces.empty()
        self.since_detect = 0

    def _select(self, faces: Faces) -> Faces:
        return select_faces(faces, self.max_faces, self.min_size, self.threshold)

    def _follow(self, image: np.ndarray) -> Faces | None:
        """Refine the last faces on this frame; None when one of them is lost."""
        found = self.detector.refine(image, self.faces.boxes)
        h, w = image.shape[:2]
        cx = (found.boxes[:, 0] + found.boxes[:, 2]) / 2
        cy = (found.boxes[:, 1] + found.boxes[:, 3]) / 2
        inside = (cx > 0) & (cx < w) & (cy > 0) & (cy < h)
        ok = (found.scores >= self.threshold) & (found.sizes >= self.min_size) & inside
        if not ok.all():
            return None
        self.tracked += 1
        return self._select(found)

    def process(self, images: list[np.ndarray]) -> list[Faces]:
        """Faces (largest first) in each of a chunk of consecutive frames."""
        n = len(images)
        key: list[int] = []
        pending = self.since_detect if len(self.faces) else self.redetect_every
        for i in range(n):
            if pending >= self.redetect_every or (i == 0 and not len(self.faces)):
                key.append(i)
                pending = 0
            pending += 1
        batch = dict(zip(key, self.detector.detect([images[i] for i in key]))) if key else {}
        self.full_detections += len(key)
        out: list[Faces] = []
        for i, image in enumerate(images):
            faces = None
            if i in batch:
                faces = self._select(batch[i])
                self.since_detect = 0
            elif len(self.faces) and self.since_detect < self.redetect_every:
                faces = self._follow(image)
            if faces is None:  # lost (or nothing to follow after a key frame): full detection now
                faces = self._select(self.detector.detect([image])[0])
                self.full_detections += 1
                self.since_detect = 0
            self.since_detect += 1
            self.faces = faces
            out.append(faces)
        return out
