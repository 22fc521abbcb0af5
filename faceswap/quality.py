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


# Seam: where a pasted face ends, a visible edge is a band of gradient the
# original does not have. The band is found from the two frames alone (evaluate
# does not know convert's mask): the region where they differ by more than codec
# noise, filled; its outline is where the blend starts, and the band reaches
# SEAM_INSIDE px into it, over the mask's feathered edge, where a tone that does
# not match shows as a step. Both frames are blurred first (SEAM_BLUR): the
# seam is an edge a viewer sees at a glance, not the pores and hair strands that
# the sharpness figures measure (a blurry swap must not pass for seamless, nor a
# sharp one for seamed).
SEAM_SIZE = 160        # analysis scale of the grown face box
SEAM_THRESHOLD = 3.0   # grey levels (after a 2 px blur) that count as changed
SEAM_INSIDE = 8        # px at SEAM_SIZE: the band's depth inside the outline (5 %)
SEAM_OUTSIDE = 2       # px outside it
SEAM_BLUR = 2.0        # px at SEAM_SIZE
SEAM_GROW = 0.5        # the face box grown by this on each side: masks reach past MTCNN's box


def _grown_box(box, grow: float, shape) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (float(v) for v in box)
    gx, gy = grow * (x2 - x1), grow * (y2 - y1)
    h, w = shape[:2]
    return (max(int(x1 - gx), 0), max(int(y1 - gy), 0), min(int(np.ceil(x2 + gx)), w), min(int(np.ceil(y2 + gy)), h))


def seam_band(original: np.ndarray, swapped: np.ndarray, box) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(original grey, swapped grey, band bool) at SEAM_SIZE px over the grown face box;
    None when (almost) nothing changed."""
    x1, y1, x2, y2 = _grown_box(box, SEAM_GROW, original.shape)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    grey = []
    for image in (original, swapped):
        region = np.ascontiguousarray(image[y1:y2, x1:x2])
        if region.ndim == 3:
            region = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
        grey.append(cv2.resize(region, (SEAM_SIZE, SEAM_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32))
    a, b = grey
    diff = cv2.GaussianBlur(np.abs(a - b), (0, 0), 2.0)
    changed = (diff > SEAM_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    if n < 2:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] < 0.01 * SEAM_SIZE ** 2:
        return None
    contours, _ = cv2.findContours((labels == biggest).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros((SEAM_SIZE, SEAM_SIZE), np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    disc = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    band = (cv2.dilate(filled, disc(SEAM_OUTSIDE)) > 0) & ~(cv2.erode(filled, disc(SEAM_INSIDE)) > 0)
    # the edge of the analysed square is not a seam
    e = 4
    band[:e], band[-e:], band[:, :e], band[:, -e:] = False, False, False, False
    if band.sum() < 16:
        return None
    return a, b, band


def seam_energies(original: np.ndarray, swapped: np.ndarray, box) -> tuple[float, float] | None:
    """(gradient energy of `swapped`, of `original`) in the seam band (see above);
    None when (almost) nothing changed."""
    found = seam_band(original, swapped, box)
    if found is None:
        return None
    a, b, band = found

    def energy(g: np.ndarray) -> float:
        g = cv2.GaussianBlur(g, (0, 0), SEAM_BLUR)
        gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
        return float((gx[band] ** 2 + gy[band] ** 2).mean())

    return energy(b), energy(a)


def seam_ratio(original: np.ndarray, swapped: np.ndarray, box) -> float:
    """Gradient energy along the blend outline, swapped over original: 1 for no
    seam (also when nothing was pasted), above 1 for a visible edge."""
    e = seam_energies(original, swapped, box)
    if e is None:
        return 1.0
    return e[0] / max(e[1], 1e-6)


# Skin detail: pores and the fine shading of skin are a few pixels wide on a face
# 250 px across; at the 96 px sharpness scale they are gone, and what is left over
# cheek and forehead is shading and blotches, so a waxy swap with a blotch scored
# above the input there. They are measured at SKIN_SIZE px instead, as the energy
# of a difference of Gaussians (SKIN_BAND sigmas: below it lies the codec's and the
# sensor's grain, which any swap repaints and which drowns the skin in a compressed
# web video; above it the face's shading), as the mean over SKIN_BLOCK px blocks
# that lie inside the skin, and the median of those blocks: a few strong edges (a
# blotch's rim, a strand of hair) then do not count for the whole cheek. Swapped
# over original: 1 is the input's own texture, well below 1 is wax (edge-preserving
# smoothing of a textured face scores about 0.3), above 1 is noise or blotches the
# input does not have. A source video whose skin holds no texture (many web clips
# at this size) scores near 1 even when waxed: there was nothing to lose.
SKIN_SIZE = 256
SKIN_BAND = (1.0, 3.0)
SKIN_BLOCK = 8


def skin_detail(image: np.ndarray, box, patches: list[np.ndarray], keep: np.ndarray | None = None,
                size: int = SKIN_SIZE) -> float:
    """Skin-texture energy over `patches` (polygons (K, 2) in frame px, cheeks and
    forehead) of the face box resized to `size` px (see above). `keep` ((H, W)
    bool, the face region): only the patches' pixels that are skin, so a strand
    of hair across a cheek is not counted as skin detail. nan with too little skin."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return float("nan")
    region = np.ascontiguousarray(image[y1:y2, x1:x2])
    if region.ndim == 3:
        region = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    shrink = (x2 - x1) > size
    region = cv2.resize(region.astype(np.float32), (size, size),
                        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    fine = (cv2.GaussianBlur(region, (0, 0), SKIN_BAND[0]) - cv2.GaussianBlur(region, (0, 0), SKIN_BAND[1])) ** 2
    mask = np.zeros((size, size), np.uint8)
    scale = np.array([size / (x2 - x1), size / (y2 - y1)])
    for poly in patches:
        p = (np.asarray(poly, np.float64) - (x1, y1)) * scale
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(p).astype(np.int32)), 1)
    if keep is not None:
        skin = cv2.resize(np.ascontiguousarray(keep[y1:y2, x1:x2]).astype(np.uint8), (size, size),
                          interpolation=cv2.INTER_NEAREST)
        # clear of the hair's edge by the band's reach (2 sigma) as well
        r = int(np.ceil(2 * SKIN_BAND[1]))
        mask &= cv2.erode(skin, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    b = SKIN_BLOCK
    n = size // b
    inside = mask[:n * b, :n * b].reshape(n, b, n, b).astype(np.float32).mean((1, 3))
    energy = (fine * mask)[:n * b, :n * b].reshape(n, b, n, b).sum((1, 3)) / np.maximum(inside * b * b, 1)
    blocks = energy[inside >= 0.75]
    if len(blocks) < 4:
        return float("nan")
    return float(np.median(blocks))


def correlation(x, y) -> float | None:
    """Pearson correlation of `y` (the swap) with `x` (the original) over frames:
    None when the original does not move, 0 when it moves and the swap does not."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or x.std() < 1e-9:
        return None
    if y.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])
