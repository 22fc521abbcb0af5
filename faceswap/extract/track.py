"""Frame-to-frame face tracking: detect rarely, follow cheaply.

A full MTCNN pass costs a pyramid over the whole frame; a face in a video
barely moves between frames. So the tracker runs full detection on a key frame
and in between re-measures each face with R-net and O-net on a box around
where it was in the previous frame (`Detector.refine`, a few ms a face). When
O-net's score for a tracked face falls below the threshold, the face shrinks
below `min_size`, or it leaves the frame, the face is lost and that frame gets
a full detection at once.

Key frames, and the guarantee they give (`scan_every`, 5 by default):

- while no face is tracked, a detection at half the detection size (a
  quarter of the pixels) runs on every `scan_every`-th frame, and one at full
  size (with the turned orientations) every `redetect_every` frames; frames
  in between report no face. Footage without faces costs about a tenth of a
  detection per frame, and a face that appears is found at most
  `scan_every - 1` frames after its first frame when it is twice `min_size`
  or larger (the half-size detection finds it), at most `redetect_every - 1`
  frames after when smaller or turned;
- while faces are tracked and more are wanted (`max_faces` 0, or fewer
  tracked than `max_faces`), key frames also come every `scan_every` frames:
  a face that enters is found within the same bound;
- while as many faces as wanted are tracked, key frames come every
  `redetect_every` frames (they re-check the choice: a larger face, the
  wanted person).

The bound holds for faces the detector finds at all (`min_size` and up).

Rotated faces (`rotate=True`): when a full-size key frame (the first frame,
a lost face, the periodic check) finds no upright face, the three other
orientations are tried at half the detection size (a quarter of the pixels
each, so the three cost less than one upright detection); once
faces are found turned, tracking runs on the turned frame and landmarks are
mapped back to the frame's own coordinates (alignment then turns the crop
upright).

Identity (`like`): every face a key frame finds gets an identity distance
(`LikeFilter`: embedded once per new face, inherited while tracked), and only
faces under the threshold are kept.

Scheduled key frames of a chunk are detected as one batch (on a GPU,
`redetect_every=1` is plain batched MTCNN).
"""

from __future__ import annotations

import numpy as np

from faceswap.extract.detect import Detector, Faces

SCAN_EVERY = 5  # key frame spacing while faces are missing: the stated find-within bound
_TURNS = (0, 1, 3, 2)  # np.rot90 counts (quarter turns counter-clockwise), upright first


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


def rotate_points(points: np.ndarray, turns: int, shape: tuple[int, ...]) -> np.ndarray:
    """Where points (..., 2) of an image of `shape` (H, W, ...) land in np.rot90(image, turns)."""
    h, w = shape[:2]
    p = np.asarray(points, np.float32)
    for _ in range(turns % 4):
        p = np.stack([p[..., 1], (w - 1) - p[..., 0]], -1)
        h, w = w, h
    return p


def unrotate_faces(faces: Faces, turns: int, shape: tuple[int, ...]) -> Faces:
    """Faces found in np.rot90(image, turns) in the coordinates of `image` (of `shape`)."""
    if not turns % 4 or not len(faces):
        return faces
    turned = shape[:2] if turns % 2 == 0 else (shape[1], shape[0])
    back = (4 - turns) % 4
    corners = rotate_points(faces.boxes.reshape(-1, 2, 2), back, turned)
    boxes = np.concatenate([corners.min(1), corners.max(1)], 1)
    return Faces(boxes, faces.scores, rotate_points(faces.landmarks, back, turned), faces.distance)


class Tracker:
    """Follow up to `max_faces` faces through consecutive frames.

    redetect_every: key frame at least every N frames while as many faces as
    wanted are tracked (1 = on every frame: the naive detector). scan_every:
    key frame spacing while faces are missing (see the module docstring).
    threshold: O-net/MTCNN score a face must keep. min_size: smallest face
    (box side, frame pixels). rotate: also look for faces turned by 90, 180,
    270 degrees. like: a `LikeFilter` to keep only one person's faces.
    """

    def __init__(
        self,
        detector: Detector,
        max_faces: int = 1,
        min_size: float = 40.0,
        threshold: float = 0.9,
        redetect_every: int = 25,
        scan_every: int = SCAN_EVERY,
        rotate: bool = False,
        like=None,
    ) -> None:
        self.detector = detector
        self.max_faces = max_faces
        self.min_size = min_size
        self.threshold = threshold
        self.redetect_every = max(1, int(redetect_every))
        self.scan_every = max(1, min(int(scan_every), self.redetect_every))
        self.rotate = bool(rotate)
        self.like = like
        self.turns = 0          # orientation the tracked faces are upright in
        self.faces: Faces = Faces.empty()  # tracked faces, in the turned frame's coordinates
        self.others: Faces = Faces.empty()  # faces of other people at the last key frame (with distances)
        self.since_detect = 1 << 30  # frames since the last key frame: the first frame is one
        self.since_full = 1 << 30    # frames since the last key frame at full detection size
        self.full_detections = 0
        self.tracked = 0
        self.most_faces = 0     # most faces (over score and size) seen on one key frame
        self.turned_found = 0   # key frames whose faces were found turned

    def reset(self) -> None:
        """Forget the faces (e.g. a jump in the frame sequence)."""
        self.faces, self.others = Faces.empty(), Faces.empty()
        self.since_detect = self.since_full = 1 << 30

    def _interval(self) -> int:
        wanted = not self.max_faces or len(self.faces) < self.max_faces
        return self.scan_every if wanted else self.redetect_every

    def _select(self, faces: Faces) -> Faces:
        return select_faces(faces, self.max_faces, self.min_size, self.threshold)

    def _choose(self, image: np.ndarray, found: Faces, known: list[Faces]) -> Faces:
        """The faces to keep among a key frame's detections (in `image`'s coordinates)."""
        found = select_faces(found, 0, self.min_size, self.threshold)
        self.most_faces = max(self.most_faces, len(found))
        if self.like is not None and len(found):
            found.distance = self.like.distances(image, found, known)
            mine = found.distance < self.like.threshold
            self.others = found.take(np.flatnonzero(~mine))
            found = found.take(np.flatnonzero(mine))
        return self._select(found)

    def _detect(self, images: list[np.ndarray], low: bool) -> list[Faces]:
        """Full detection; `low`: at half the detection size (a quarter of the pixels and of the cost)."""
        self.full_detections += len(images)
        if not low:
            return self.detector.detect(images)
        own = self.detector.detect_size
        self.detector.detect_size = max(160, (own or max(images[0].shape[:2])) // 2)
        try:
            return self.detector.detect(images)
        finally:
            self.detector.detect_size = own

    def _key(self, image: np.ndarray, found: Faces | None = None) -> Faces:
        """Full detection on `image` (found: its detection in the current orientation, if done)."""
        turned = np.rot90(image, self.turns) if self.turns else image
        scan = not len(self.faces) and self.since_full < self.redetect_every  # a scan, not a loss or a full check
        if found is None:
            found = self._detect([np.ascontiguousarray(turned)], low=scan)[0]
        if not scan:
            self.since_full = 0
        self.since_detect = 0
        faces = self._choose(turned, found, [self.faces, self.others])
        if len(faces) or not self.rotate or scan:
            return faces
        others = [t for t in _TURNS if t != self.turns]
        turned = [np.ascontiguousarray(np.rot90(image, t)) for t in others]
        found = self._detect(turned, low=True)
        for turns, image_t, faces in zip(others, turned, found):
            faces = self._choose(image_t, faces, [])
            if len(faces):
                self.turns = turns
                self.turned_found += bool(turns)
                return faces
        return Faces.empty()

    def _follow(self, image: np.ndarray) -> Faces | None:
        """Refine the last faces on this (turned) frame; None when one of them is lost."""
        found = self.detector.refine(image, self.faces.boxes)
        found.distance = self.faces.distance
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
        """Faces (largest first, in each frame's own coordinates) in a chunk of consecutive frames."""
        key: list[int] = []
        pending, interval = self.since_detect, self._interval()
        for i in range(len(images)):
            if pending >= interval:
                key.append(i)
                pending = 0
            pending += 1
        turns = self.turns
        batch = {}
        if key and len(self.faces):  # scheduled checks of tracked faces: batched (scans run one by one)
            frames = [np.ascontiguousarray(np.rot90(images[i], turns)) if turns else images[i] for i in key]
            batch = dict(zip(key, self._detect(frames, low=False)))
        out: list[Faces] = []
        for i, image in enumerate(images):
            found = batch.get(i) if self.turns == turns else None
            if found is not None:
                self.since_full = 0
            if found is not None or self.since_detect >= self._interval():
                faces = self._key(image, found)
            elif len(self.faces):
                turned = np.rot90(image, self.turns) if self.turns else image
                faces = self._follow(turned)
                if faces is None:  # lost: full detection now
                    faces = self._key(image)
            else:  # nothing tracked: wait for the next scan
                faces = Faces.empty()
            self.since_detect += 1
            self.since_full += 1
            self.faces = faces
            out.append(unrotate_faces(faces, self.turns, image.shape))
        return out
