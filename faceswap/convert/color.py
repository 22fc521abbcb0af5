"""Colour correction of the swapped face towards the original face.

The decoder paints the face with the lighting of its training set; before
blending, its colours are moved towards those of the face it replaces. All
statistics are computed inside the mask (pixels with mask > 0.5), in aligned
space, and the correction is applied to the whole crop.

Methods:
    "none"       leave the colours as the model made them
    "mean"       shift each RGB channel so the means match
    "reinhard"   match mean and standard deviation per channel in CIE Lab
                 (Reinhard, Ashikhmin, Gooch, Shirley 2001, "Color Transfer
                 between Images"; they use l-alpha-beta, we use Lab, which
                 OpenCV provides and which decorrelates colour similarly)
    "hist"       match each RGB channel's histogram (its CDF) to the target's

Images are RGB uint8 (H, W, 3) or float32 in [0, 1]; the mask is (H, W) in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap.errors import FaceswapError

COLORS = ("none", "mean", "reinhard", "hist", "light")
DEFAULT_COLOR = "light"


def _as_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return image.astype(np.float32, copy=False)


def _like(result: np.ndarray, like: np.ndarray) -> np.ndarray:
    result = np.clip(result, 0.0, 1.0)
    if like.dtype == np.uint8:
        return np.round(result * 255.0).astype(np.uint8)
    return result.astype(np.float32)


def _select(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean (H, W) of the pixels whose statistics count; all when the mask
    selects too few to be meaningful."""
    if mask is None:
        return np.ones(shape[:2], bool)
    sel = np.asarray(mask) > 0.5
    return sel if sel.sum() >= 16 else np.ones(shape[:2], bool)


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """RGB (float [0,1] or uint8) -> float32 Lab (L in [0,100], a, b ~[-127,127])."""
    return cv2.cvtColor(_as_float(image), cv2.COLOR_RGB2LAB)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 Lab -> float32 RGB, not clipped."""
    return cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)


def mean_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Shift each RGB channel of `source` so its mean inside the mask equals the target's."""
    sel = _select(mask, source.shape)
    src, tgt = _as_float(source), _as_float(target)
    shift = tgt[sel].mean(axis=0) - src[sel].mean(axis=0)
    return _like(src + shift, source)


def reinhard_lab(src_lab: np.ndarray, tgt_lab: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """The Reinhard statistic match in Lab: (x - mu_s) / sd_s * sd_t + mu_t per
    channel, statistics over `sel`. Returns float32 Lab (no clipping)."""
    s, t = src_lab[sel].astype(np.float64), tgt_lab[sel].astype(np.float64)
    mu_s, sd_s = s.mean(axis=0), s.std(axis=0)
    mu_t, sd_t = t.mean(axis=0), t.std(axis=0)
    gain = sd_t / np.maximum(sd_s, 1e-6)
    return ((src_lab - mu_s) * gain + mu_t).astype(np.float32)


def reinhard_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Match mean and standard deviation per Lab channel inside the mask."""
    sel = _select(mask, source.shape)
    out = reinhard_lab(rgb_to_lab(source), rgb_to_lab(target), sel)
    return _like(lab_to_rgb(out), source)


def match_cdf(values: np.ndarray, src_sel: np.ndarray, tgt_sel: np.ndarray) -> np.ndarray:
    """Map uint8 `values` through the lookup table that takes the CDF of
    `src_sel` (uint8 samples) onto the CDF of `tgt_sel`."""
    src_cdf = np.cumsum(np.bincount(src_sel, minlength=256)).astype(np.float64)
    tgt_cdf = np.cumsum(np.bincount(tgt_sel, minlength=256)).astype(np.float64)
    src_cdf /= src_cdf[-1]
    tgt_cdf /= tgt_cdf[-1]
    # each source level goes to the first target level whose CDF reaches it
    lut = np.searchsorted(tgt_cdf, src_cdf - 1e-12, side="left")
    lut = np.clip(lut, 0, 255).astype(np.uint8)
    return lut[values]


def hist_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Match each RGB channel's histogram inside the mask to the target's."""
    sel = _select(mask, source.shape)
    src = source if source.dtype == np.uint8 else np.round(np.clip(source, 0, 1) * 255).astype(np.uint8)
    tgt = target if target.dtype == np.uint8 else np.round(np.clip(target, 0, 1) * 255).astype(np.uint8)
    out = np.empty_like(src)
    for c in range(3):
        out[..., c] = match_cdf(src[..., c], src[..., c][sel], tgt[..., c][sel])
    return out if source.dtype == np.uint8 else out.astype(np.float32) / 255.0


# of the crop's side. Measured on d10 as d6 (30 CPU minutes, scripts/bench_quality.py):
# reinhard left B's own light on A's face (a white glow on the forehead, orange cheeks);
# 1/8 and 1/4 of the crop took it away with the same figures, 1/16 also took more of
# the face's shape shading from A (the swap measured nearer A).
LIGHT_SIGMA = 1 / 8


def _masked_lowpass(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of `image` that only averages pixels with `weight` (normalised
    convolution), so the background outside the mask does not bleed in. Only low
    frequencies survive a blur this wide, so it runs on a copy shrunk to about four
    pixels per sigma and is brought back bilinearly: the same result within a fraction
    of a grey level, at a twentieth of the cost of a 256 px blur."""
    h, w = weight.shape
    f = max(1, int(sigma // 4))
    small = (max(w // f, 1), max(h // f, 1))
    num = cv2.resize(image * weight[..., None], small, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    num = cv2.GaussianBlur(num, (0, 0), sigma / f)
    den = cv2.GaussianBlur(den, (0, 0), sigma / f)[..., None]
    low = num / np.maximum(den, 1e-3)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)


def light_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Give `source` the target's shading: in Lab, its low frequencies (a Gaussian
    of LIGHT_SIGMA of the crop inside the mask) replaced by the target's, its
    detail kept. The blur is linear, so one blur of the difference does both."""
    sel = _select(mask, source.shape).astype(np.float32)
    src = rgb_to_lab(source)
    out = src + _masked_lowpass(rgb_to_lab(target) - src, sel, LIGHT_SIGMA * source.shape[0])
    return _like(lab_to_rgb(out), source)


def check_color(method: str) -> str:
    if method not in COLORS:
        raise FaceswapError(f"--color {method}: unknown colour correction; use one of {', '.join(COLORS)}")
    return method


def correct_color(source: np.ndarray, target: np.ndarray, mask: np.ndarray | None, method: str) -> np.ndarray:
    """Move the colours of `source` (the swapped face) towards `target` (the
    original face at the same place), statistics inside `mask`.

    source, target: (H, W, 3) RGB, same size and dtype; returns the same dtype.
    """
    if method == "none":
        return source
    if method == "mean":
        return mean_transfer(source, target, mask)
    if method == "reinhard":
        return reinhard_transfer(source, target, mask)
    if method == "hist":
        return hist_transfer(source, target, mask)
    if method == "light":
        return light_transfer(source, target, mask)
    check_color(method)
    raise AssertionError  # unreachable
