"""Keep one person's faces: identity distances to a reference, measured once per face track.

Embedding a face (dlib's ResNet, `faceswap.identity`) costs ~20-40 ms on a
CPU, as much as a tracked frame, so it is never done per frame: a face found
on a key frame that overlaps a face known from the previous key frame or from
tracking (IoU > 0.3) inherits that face's distance; only new faces are
embedded. Tracking (O-net on the last box) keeps a face's identity between
key frames, so a talking-head clip embeds each person about once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from faceswap.errors import FaceswapError

if TYPE_CHECKING:
    from faceswap.extract.detect import Faces

_SAME_FACE_IOU = 0.3


class LikeFilter:
    """Identity distances of detected faces to `reference` (128,), with memory.

    threshold: the largest distance that counts as the wanted person (dlib's
    0.6 by default). `embedded` counts the faces actually embedded.
    """

    def __init__(self, reference: np.ndarray, threshold: float = 0.6, embedder=None):
        from faceswap import identity

        self.reference = np.asarray(reference, np.float32)
        self.threshold = float(threshold)
        self.embedder = embedder or identity.FaceEmbedder()
        self.embedded = 0

    def distances(self, image: np.ndarray, faces: Faces, known: list[Faces]) -> np.ndarray:
        """Distance (K,) of each face of `image` (RGB, faces upright in it);
        faces overlapping one in `known` (with distances, same coordinates) reuse its distance."""
        from faceswap import identity
        from faceswap.extract.track import box_iou

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
    from faceswap import identity

    if not 0 < threshold <= 2:
        raise FaceswapError(f"--like-threshold {threshold}: must be in (0, 2]; {identity.THRESHOLD} is dlib's "
                            f"same-person distance")
    identity.require("--like")
    embedder = identity.FaceEmbedder()
    return LikeFilter(identity.reference_from_photos(photos, embedder, detector), threshold, embedder)
