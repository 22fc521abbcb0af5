"""Masks in aligned (crop) space: where the new face replaces the old one.

A mask is a float32 array (S, S) in [0, 1] at the crop size S. It is made in
aligned space (where every face has the same pose and scale), refined there
(erode/dilate, feather), then warped back into the frame with the face.

Kinds:
    "learned"  the swap model's own mask channel (models built with mask=True)
    "face"     a soft face-shaped region built from the five template landmarks:
               an egg-shaped outline from the forehead, around the cheeks, to
               the jaw and chin, sized by the eye distance and eye-mouth height
    "ellipse"  a plain ellipse through the same landmark frame (a rounder cut)
    "box"      the whole crop, faded towards its border
    "auto"     "learned" when the model has a mask, else "face"

Every mask is faded to zero at the crop border so that warping it back never
shows the crop's square edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap.errors import FaceswapError

MASKS = ("auto", "learned", "face", "ellipse", "box")

# Shape of the "face" outline in a frame attached to the landmarks: x along the
# eye line in units of the eye distance, y down the face in units of the
# eye-to-mouth height, origin at the midpoint between the eyes.
_FOREHEAD = 0.95   # top of the outline above the eyes
_CHIN = 0.60       # bottom below the mouth
_HALF_WIDTH = 1.10  # half width at the cheeks
_JAW_TAPER = 0.35   # how much the lower half narrows towards the chin


def _landmark_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Origin, unit axes (u along the eyes, v down the face) and the two
    lengths (eye distance d, eye-to-mouth height h) of five landmarks."""
    pts = np.asarray(points, dtype=np.float64).reshape(5, 2)
    eyes = (pts[0] + pts[1]) / 2
    mouth = (pts[3] + pts[4]) / 2
    u = pts[1] - pts[0]
    d = float(np.linalg.norm(u))
    if d < 1e-6:
        raise ValueError("landmarks: the two eyes coincide")
    u = u / d
    v = np.array([-u[1], u[0]])
    if np.dot(mouth - eyes, v) < 0:  # make v point from the eyes to the mouth
        v = -v
    h = float(np.dot(mouth - eyes, v))
    return eyes, u, v, d, max(h, 0.3 * d)


def _outline(points: np.ndarray, shape: str, n: int = 64) -> np.ndarray:
    """Polygon (n, 2) of the face outline in crop coordinates."""
    eyes, u, v, d, h = _landmark_frame(points)
    top = -_FOREHEAD * h
    bottom = h + _CHIN * h
    cy = (top + bottom) / 2
    ry = (bottom - top) / 2
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = _HALF_WIDTH * d * np.cos(t)
    y = cy + ry * np.sin(t)
    if shape == "face":  # narrow the lower half towards the chin (a jaw)
        lower = np.sin(t) > 0
        x[lower] *= 1 - _JAW_TAPER * np.sin(t[lower]) ** 2
    return eyes + np.outer(x, u) + np.outer(y, v)


def border_fade(size: int, width: float) -> np.ndarray:
    """(S, S) ramp that is 1 inside and falls to 0 over `width` px at the border."""
    ramp = np.clip(np.arange(size, dtype=np.float32) / max(width, 1e-6), 0, 1)
    ramp = np.minimum(ramp, ramp[::-1])
    return np.minimum.outer(ramp, ramp)


def landmark_mask(size: int, points: np.ndarray, shape: str = "face") -> np.ndarray:
    """Hard (0/1) face-shaped mask (S, S) float32 from five landmarks given in
    crop coordinates (usually the alignment template, `template_points`)."""
    if shape == "box":
        return np.ones((size, size), np.float32)
    if shape not in ("face", "ellipse"):
        raise ValueError(f"unknown mask shape {shape!r}")
    poly = _outline(points, shape)
    mask = np.zeros((size, size), np.uint8)
    # sub-pixel polygon: 4 fractional bits
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return (mask > 127).astype(np.float32)


def refine_mask(mask: np.ndarray, erode: float = 0.0, blur: float = 5.0) -> np.ndarray:
    """Erode (erode > 0) or dilate (erode < 0) then feather a mask.

    mask: (S, S) float in [0, 1]. `erode` and `blur` are percentages of the
    crop size S, so the options mean the same at any model resolution. The
    result is faded to 0 at the crop border (so nothing square shows).
    """
    mask = np.asarray(mask, dtype=np.float32)
    size = mask.shape[0]
    radius = int(round(abs(erode) / 100.0 * size))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        op = cv2.erode if erode > 0 else cv2.dilate
        mask = op(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    sigma = blur / 100.0 * size / 2.0
    if sigma > 0.3:
        k = int(2 * round(3 * sigma) + 1)
        # Blurring a copy eroded by 2 sigma keeps the feathered edge inside the shape.
        inner = int(round(2 * sigma))
        if inner > 0:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inner + 1, 2 * inner + 1))
            mask = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        mask = cv2.GaussianBlur(mask, (k, k), sigma, borderType=cv2.BORDER_CONSTANT)
    mask = mask * border_fade(size, max(2.0, 0.03 * size))
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def resolve_mask_kind(kind: str, model_has_mask: bool) -> str:
    """Turn "auto" into a concrete kind; refuse "learned" on a model without one."""
    if kind not in MASKS:
        raise FaceswapError(f"--mask {kind}: unknown mask; use one of {', '.join(MASKS)}")
    if kind == "auto":
        return "learned" if model_has_mask else "face"
    if kind == "learned" and not model_has_mask:
        raise FaceswapError("--mask learned: this model has no learned mask; use --mask face (or auto)")
    return kind


class MaskMaker:
    """Builds the per-face mask for one conversion.

    The landmark masks depend only on the template, so they are computed once;
    a learned mask is refined per face.
    """

    def __init__(self, kind: str, size: int, template: np.ndarray | None, erode: float = 0.0, blur: float = 5.0):
        self.kind, self.size, self.erode, self.blur = kind, size, erode, blur
        self._fixed: np.ndarray | None = None
        # the face region (hard "face" outline): where cover is measured, whatever the mask kind
        self.region = landmark_mask(size, template, "face") if template is not None else None
        if kind in ("face", "ellipse", "box"):
            if kind != "box" and template is None:
                raise ValueError("a landmark mask needs the template landmarks")
            self._fixed = refine_mask(landmark_mask(size, template, kind), erode, blur)

    def __call__(self, learned: np.ndarray | None = None) -> np.ndarray:
        """learned: (S, S) float in [0, 1] from the model (used for kind "learned")."""
        if self._fixed is not None:
            return self._fixed
        if learned is None:
            raise ValueError("mask 'learned' needs the model's mask output")
        learned = np.asarray(learned, dtype=np.float32)
        # Refined at the model's resolution, then enlarged: erode and blur are fractions of
        # the side, so the result is the same soft mask, at a sixteenth of the cost for a
        # 4x paste size (the feathered edge has no detail finer than the model's pixels).
        mask = refine_mask(learned, self.erode, self.blur)
        if mask.shape != (self.size, self.size):
            mask = cv2.resize(mask, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return mask
