"""Keep one person's faces: identity distances to a reference, measured once per face track.

Embedding a face (dlib's ResNet, `faceswap.identity`) costs ~20-40 ms on a
CPU, as much as a tracked frame, so it is never done per frame: a face found
on a key frame that overlaps a face known from the previous key frame or from
tracking (IoU > 0.3) inherits that face's distance; only new faces are
embedded. Tracking (O-net on the last box) keeps a face's identity between
key frames, so a talking-head clip embeds each person about once.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceswap import identity
from faceswap.errors import FaceswapError
from faceswap.extract.detect import Detector, Faces
from faceswap.extract.track import box_iou

_SAME_FACE_IOU = 0.3


class LikeFilter:
    """Identity distances of detected faces to `reference` (128,), with memory.

    threshold: the largest distance that counts as the wanted person (dlib's
    0.6 by default). `embedded` counts the faces actually embedded.
    """

    def __init__(self, reference: np.ndarray, threshold: float = 0.6, embedder=None):
        self.reference = np.asarray(reference, np.float32)
        self.threshold = float(threshold)
        self.embedder = embedder or identity.FaceEmbedder()
        self.embedded = 0

    def distances(self, image: np.ndarray, faces: Faces, known: list[Faces]) -> np.ndarray:
        """Distance (K,) of each face of `image` (RGB, faces upright in it);
        faces overlapping one in `known` (with distances, same coordinates) reuse its distance."""
        out = np.full(len(faces), np.nan, np.float32)
        for k in known:
            if not len(k) or k.distance is None or not len(faces):
                continue
            iou = box_iou(faces.boxes, k.boxes)
            best = iou.argmax(1)
            hit = np.isnan(out) & (iou[np.arange(len(faces)), best] > _SAME_FACE_IOU)
            out[hit] = k.distance[best[hit]]
        new = np.flatnonzero(np.isnan(out))
        if len(new):
            out[new] = identity.distances(self.embedder.embed(image, faces.boxes[new]), self.reference)
            self.embedded += len(new)
        return out


def like_filter(photos, threshold: float = 0.6, detector=None) -> LikeFilter | None:
    """A LikeFilter for photos of one person (None without photos); one-line
    FaceswapErrors for a threshold out of range, a missing extra or a bad photo."""
    if not photos:
        return None
    if not 0 < threshold <= 2:
        raise FaceswapError(f"--like-threshold {threshold}: must be in (0, 2]; {identity.THRESHOLD} is dlib's "
                            f"same-person distance")
    identity.require("--like")
    embedder = identity.FaceEmbedder()
    return LikeFilter(reference_from_photos(photos, embedder, detector), threshold, embedder)


def reference_from_photos(paths, embedder: identity.FaceEmbedder | None = None, detector=None) -> np.ndarray:
    """The mean identity embedding (128,) of the largest face in each photo of one person.

    Raises a one-line FaceswapError naming the file for a missing or
    unreadable photo, a photo without a face, or a photo of another person
    than the first (distance over identity.THRESHOLD).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise FaceswapError("--like: give at least one photo of the person")
    embedder = embedder or identity.FaceEmbedder()
    detector = detector or Detector(device="cpu", min_size=20)
    vectors = []
    for path in paths:
        if not path.is_file():
            raise FaceswapError(f"{path}: photo not found; pass --like with a photo (jpg, png) of the person")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FaceswapError(f"{path}: not a readable image; pass --like with a photo (jpg, png) of the person")
        image = np.ascontiguousarray(image[:, :, ::-1])
        faces = detector.detect([image])[0]
        faces = faces.take(np.flatnonzero(faces.scores >= 0.9))
        if not len(faces):
            raise FaceswapError(f"{path}: no face found in this photo; pass a photo where the face is clearly visible")
        largest = int(np.argmax(faces.sizes))
        vector = embedder.embed(image, faces.boxes[largest : largest + 1])[0]
        if vectors:
            d = float(np.linalg.norm(vector - vectors[0]))
            if d > identity.THRESHOLD:
                raise FaceswapError(f"{path}: shows another person than {paths[0]} (identity distance {d:.2f} > "
                                    f"{identity.THRESHOLD}); pass photos of one person only")
        vectors.append(vector)
    return np.mean(vectors, 0).astype(np.float32)
