"""Image measures of a swap that follow what a viewer sees.

Sharpness is the variance of the Laplacian (Pech-Pacheco et al. 2000) of the
face box, each frame's box resized to a fixed 96 x 96 analysis scale with area
averaging, swapped over original. A fixed scale matters: at full resolution the
ratio measures codec noise and rewards the stair-steps of an upscaled face
(a blurred 64 px face scored above a perfect 64 px crop there), while at 96 px
both frames keep the eyes, lips and hair edges that make a face look sharp.
1.0 means as sharp as the input; a perfect model at S px (the real face cropped
at S px and pasted back) sets the ceiling for S. The face box also holds hair
and background that a swap leaves as they were, so the same ratio is also
taken on the inner face (eyes to mouth), which every swap repaints.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap.convert.blend import crop, paste
from faceswap.convert.faces import PASTE_SCALE
from faceswap.convert.masks import MaskMaker
from faceswap.extract.align import template_points, umeyama

ANALYSIS_SIZE = 96


def face_sharpness(image: np.ndarray, box, inner=None, size: int = ANALYSIS_SIZE) -> tuple[float, float]:
    """(variance of the Laplacian of `box` (x1, y1, x2, y2) resized to `size` px,
    the same over the part of it that `inner` covers). Both come from one resize,
    so they see the face at the same scale. Without `inner` the second is nan."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return float("nan"), float("nan")
    region = image[y1:y2, x1:x2]
    if region.ndim == 3:
        region = cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2GRAY)
    region = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    lap = cv2.Laplacian(region.astype(np.float32), cv2.CV_32F)
    inner_var = float("nan")
    if inner is not None:
        sx, sy = size / (x2 - x1), size / (y2 - y1)
        ix1, iy1 = max(int((inner[0] - x1) * sx), 1), max(int((inner[1] - y1) * sy), 1)
        ix2, iy2 = min(int(np.ceil((inner[2] - x1) * sx)), size - 1), min(int(np.ceil((inner[3] - y1) * sy)), size - 1)
        if ix2 - ix1 >= 4 and iy2 - iy1 >= 4:
            inner_var = float(lap[iy1:iy2, ix1:ix2].var())
    return float(lap.var()), inner_var


def box_sharpness(image: np.ndarray, box, size: int = ANALYSIS_SIZE, inner=None) -> float:
    """Variance of the Laplacian of `box` resized to `size` px; with `inner`, over
    that part of the resized box only (see face_sharpness)."""
    whole, part = face_sharpness(image, box, inner, size)
    return whole if inner is None else part


def perfect_crop(frame: np.ndarray, landmarks: np.ndarray, resolution: int, coverage: float) -> np.ndarray:
    """The frame as `faceswap convert` would paint it with a perfect `resolution` px
    model: the real face, aligned and area-averaged down to `resolution` px,
    brought back to paste size (bicubic) and blended through convert's default
    face mask. The sharpest any model of that resolution can look."""
    size = resolution * PASTE_SCALE
    template = np.asarray(template_points(size, coverage), np.float64)
    matrix = umeyama(np.asarray(landmarks, np.float64), template)
    small = cv2.resize(crop(frame, matrix, size), (resolution, resolution), interpolation=cv2.INTER_AREA)
    face = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    out = frame.copy()
    paste(out, face, MaskMaker("face", size, template)(), matrix)
    return out


def inner_box(landmarks: np.ndarray, margin: float = 0.15) -> tuple[float, float, float, float]:
    """The box of the five landmarks (eyes, nose, mouth corners) grown by `margin`
    of its size on each side: the part of the face every swap mask covers, where
    a face's detail is (eyes, brows, lips), free of the hair and background the
    face box also holds."""
    lm = np.asarray(landmarks, np.float64)
    (x1, y1), (x2, y2) = lm.min(0), lm.max(0)
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    return x1 - mx, y1 - my, x2 + mx, y2 + my


def ratio(numerators, denominators) -> float | None:
    """Median of the per-frame ratios (robust to a few frames with a lost face)."""
    n, d = np.asarray(numerators, np.float64), np.asarray(denominators, np.float64)
    ok = np.isfinite(n) & np.isfinite(d) & (d > 0)
    return float(np.median(n[ok] / d[ok])) if ok.any() else None
