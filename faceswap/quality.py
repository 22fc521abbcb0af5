"""Image measures of a swap that follow what a viewer sees.

Sharpness is the variance of the Laplacian (Pech-Pacheco et al. 2000) of the
face box, each frame's box resized to a fixed 96 x 96 analysis scale with area
averaging, swapped over original. A fixed scale matters: at full resolution the
ratio measures codec noise and rewards the stair-steps of an upscaled face
(a blurred 64 px face scored above a perfect 64 px crop there), while at 96 px
both frames keep the eyes, lips and hair edges that make a face look sharp.
1.0 means as sharp as the input; a perfect model at S px (the real face cropped
at S px and pasted back) scores the `resolution_ceiling` of S.
"""

from __future__ import annotations

import cv2
import numpy as np

ANALYSIS_SIZE = 96


def box_sharpness(image: np.ndarray, box, size: int = ANALYSIS_SIZE) -> float:
    """Variance of the Laplacian of `box` (x1, y1, x2, y2) of an RGB/grey image at `size` px."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return float("nan")
    region = image[y1:y2, x1:x2]
    if region.ndim == 3:
        region = cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2GRAY)
    region = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(region.astype(np.float32), cv2.CV_32F).var())


def perfect_crop(frame: np.ndarray, landmarks: np.ndarray, resolution: int, coverage: float) -> np.ndarray:
    """The frame with its face replaced by the real face seen through an S px model:
    aligned, area-downscaled to `resolution`, upscaled back (bicubic) and pasted
    over the crop's footprint. The sharpest any model of that resolution can be."""
    from faceswap.extract.align import alignment_matrix

    h, w = frame.shape[:2]
    scale = 4
    matrix = alignment_matrix(np.asarray(landmarks, np.float64), resolution * scale, coverage)
    big = cv2.warpAffine(frame, matrix, (resolution * scale,) * 2, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    small = cv2.resize(big, (resolution, resolution), interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (resolution * scale,) * 2, interpolation=cv2.INTER_CUBIC)
    out = cv2.warpAffine(back, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT)
    inside = cv2.warpAffine(np.ones(back.shape[:2], np.uint8), matrix, (w, h),
                            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
    return np.where(inside[..., None] > 0, out, frame)


def ratio(numerators, denominators) -> float | None:
    """Median of the per-frame ratios (robust to a few frames with a lost face)."""
    n, d = np.asarray(numerators, np.float64), np.asarray(denominators, np.float64)
    ok = np.isfinite(n) & np.isfinite(d) & (d > 0)
    return float(np.median(n[ok] / d[ok])) if ok.any() else None
