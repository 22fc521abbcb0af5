"""Sharpening of the swapped face that cannot ring.

A model's face, upscaled to the paste size, has the right edges but soft
ones. The classic unsharp mask (x + amount * (x - blur(x))) steepens them, but
it also overshoots: a bright rim beside every dark edge and a dark one beside
every bright edge (halos, "ringing"), which is what makes sharpened faces look
processed. Here the unsharp result is clamped, pixel by pixel, to the range of
the original values in its 3x3 neighbourhood: an edge becomes steeper, but no
pixel becomes brighter or darker than what was already beside it, so there is
no halo and flat skin (where the neighbourhood range is tiny) is left as it was
instead of having its noise amplified.

    face: (S, S, 3) uint8 RGB -> (S, S, 3) uint8
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap.errors import FaceswapError


# convert's default for a face drawn by a detail upsampler (`faceswap refine`):
# it firms up the eye, brow and lip edges the upsampler drew without halos; 2
# and more start to etch them. A face that is only a bicubic enlargement of what
# the model drew has no such edges: there sharpening measurably adds nothing to
# the face's sharpness and brings out the structure of the face underneath (on
# a real pair, 7.5 % of swapped frames recognised as A instead of 1 %), so the
# default ("auto") leaves those faces alone.
DEFAULT_SHARPEN = 1.0


def resolve_sharpen(amount: float | None, has_detail: bool) -> float:
    """The amount to use: `amount` (checked), or for None ("auto") DEFAULT_SHARPEN when
    the face comes from a detail upsampler and 0 when it is a bicubic enlargement."""
    amount = check_sharpen(amount)
    if amount is None:
        return DEFAULT_SHARPEN if has_detail else 0.0
    return amount


def parse_sharpen(value: str | float | None) -> float | None:
    """`--sharpen`'s text: "auto" (None) or an amount from 0 to 4; FaceswapError otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    try:
        amount = float(value)
    except ValueError:
        raise FaceswapError(f"--sharpen {value}: give auto or an amount from 0 (off) to 4") from None
    return check_sharpen(amount)


def check_sharpen(amount: float | None) -> float | None:
    if amount is None:
        return None
    amount = float(amount)
    if not 0 <= amount <= 4:
        raise FaceswapError(f"--sharpen {amount:g}: must be between 0 (off) and 4")
    return amount


def sharpen(face: np.ndarray, amount: float, radius: float = 1.0) -> np.ndarray:
    """Unsharp mask of strength `amount` (0: unchanged), Gaussian sigma `radius`
    percent of the face side, clamped to each pixel's 3x3 range (no halos)."""
    if amount <= 0:
        return face
    x = face.astype(np.float32)
    sigma = max(0.5, radius / 100.0 * face.shape[0])
    blurred = cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    boosted = x + amount * (x - blurred)
    kernel = np.ones((3, 3), np.uint8)
    lo, hi = cv2.erode(x, kernel), cv2.dilate(x, kernel)
    return np.clip(boosted, lo, hi).round().astype(np.uint8)
