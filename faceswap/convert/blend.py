"""Put the swapped face back into the frame.

The alignment matrix M (2, 3) maps frame coordinates to crop coordinates at
the crop size S. The face and its mask are warped back with M itself as an
inverse map (cv2.WARP_INVERSE_MAP: dst(x) = src(M x)), into the frame's
bounding region of the crop only, never the whole frame, then blended:

    "alpha"    out = frame * (1 - a) + face * a with the feathered mask a;
               pixels where a == 0 are left exactly as they were
    "poisson"  gradient-domain cloning (Perez, Gangnet, Blake 2003, "Poisson
               Image Editing", via cv2.seamlessClone, NORMAL_CLONE) inside the
               mask, then the same feathered alpha so the edge stays soft and
               pixels outside the mask stay exact

Frames are RGB uint8 (H, W, 3) and are modified in place.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap.convert.color import correct_color
from faceswap.convert.sharpen import sharpen as sharpen_face
from faceswap.errors import FaceswapError

BLENDS = ("alpha", "poisson")


def check_blend(method: str) -> str:
    if method not in BLENDS:
        raise FaceswapError(f"--blend {method}: unknown blending; use one of {', '.join(BLENDS)}")
    return method


def crop_bounds(matrix: np.ndarray, size: int, frame_shape: tuple[int, ...], pad: int = 2) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the frame region covered by the S x S crop of
    `matrix`, clipped to the frame; None when it lies outside."""
    inv = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    pts = corners @ inv.T
    h, w = frame_shape[:2]
    x0 = max(int(np.floor(pts[:, 0].min())) - pad, 0)
    y0 = max(int(np.floor(pts[:, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(pts[:, 0].max())) + pad, w)
    y1 = min(int(np.ceil(pts[:, 1].max())) + pad, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def warp_to_frame(image: np.ndarray, matrix: np.ndarray, bounds: tuple[int, int, int, int],
                  interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp a crop-space image back into the frame region `bounds`.

    Returns an array of the region's size; pixels that map outside the crop are 0.
    """
    x0, y0, x1, y1 = bounds
    m = np.asarray(matrix, np.float64).copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)  # region pixel -> crop pixel
    return cv2.warpAffine(image, m, (x1 - x0, y1 - y0), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The aligned S x S crop of `frame` under `matrix` (frame -> crop)."""
    return cv2.warpAffine(frame, np.asarray(matrix, np.float64), (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _alpha(region: np.ndarray, face: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """region * (1 - a) + face * a, rounded; exact where a == 0 (1 * x + 0 * y == x
    in float). Only the bounding box of a > 0 is computed."""
    ys, xs = np.nonzero(alpha.any(axis=1))[0], np.nonzero(alpha.any(axis=0))[0]
    out = region.copy()
    if len(ys) == 0:
        return out
    sl = np.s_[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
    a = np.ascontiguousarray(alpha[sl], dtype=np.float32)
    out[sl] = cv2.blendLinear(np.ascontiguousarray(face[sl]), np.ascontiguousarray(region[sl]), a, 1.0 - a)
    return out


def _poisson(region: np.ndarray, face: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    inside = (alpha > 0.1).astype(np.uint8) * 255
    # keep the clone region off the region's edge: seamlessClone needs a border
    inside[:2, :] = 0
    inside[-2:, :] = 0
    inside[:, :2] = 0
    inside[:, -2:] = 0
    if inside.sum() < 255 * 16:
        return region
    bx, by, bw, bh = cv2.boundingRect(inside)
    center = (bx + bw // 2, by + bh // 2)  # seamlessClone centres the mask's bounding box here
    weights = alpha * (inside > 0)
    # seamlessClone (OpenCV 5) overwrites its mask argument: give it a copy
    cloned = cv2.seamlessClone(np.ascontiguousarray(face), np.ascontiguousarray(region), inside.copy(), center,
                               cv2.NORMAL_CLONE)
    return _alpha(region, cloned, weights)


def _to_frame_scale(face: np.ndarray, mask: np.ndarray, matrix: np.ndarray):
    """Area-average a crop that is much finer than the frame (a 256 px face
    crop over a 100 px face) before the warp: the warp's bilinear sampling
    would otherwise skip crop pixels and alias. Returns (face, mask, matrix)."""
    m = np.asarray(matrix, np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))  # crop pixels per frame pixel
    if scale <= 1.5:
        return face, mask, matrix
    size = face.shape[0]
    new = max(8, int(np.ceil(size / scale)))
    f = new / size
    face = cv2.resize(face, (new, new), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(np.asarray(mask, np.float32), (new, new), interpolation=cv2.INTER_AREA)
    return face, mask, m * f


def paste(frame: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray, method: str = "alpha") -> tuple[int, int, int, int] | None:
    """Blend `face` (S, S, 3 uint8, crop space) into `frame` in place through
    `mask` (S, S float in [0, 1]); returns the touched region or None."""
    face, mask, matrix = _to_frame_scale(face, mask, matrix)
    size = face.shape[0]
    bounds = crop_bounds(matrix, size, frame.shape)
    if bounds is None:
        return None
    x0, y0, x1, y1 = bounds
    alpha = warp_to_frame(mask.astype(np.float32), matrix, bounds)
    if not (alpha > 0).any():
        return None
    warped = warp_to_frame(face, matrix, bounds)
    region = frame[y0:y1, x0:x1]
    if method == "alpha":
        frame[y0:y1, x0:x1] = _alpha(region, warped, alpha)
    elif method == "poisson":
        frame[y0:y1, x0:x1] = _poisson(region, warped, alpha)
    else:
        check_blend(method)
    return bounds


def paste_face(frame: np.ndarray, face: np.ndarray, original: np.ndarray, mask: np.ndarray, matrix: np.ndarray, *,
               color: str, sharpen: float, blend: str) -> None:
    """One swapped face into `frame` (in place), as convert and its preview both do it:
    sharpen the face (crop space, paste size), move its colours toward `original`
    (the same crop of the frame) inside `mask`, then blend it in with `blend`."""
    face = correct_color(sharpen_face(face, sharpen), original, mask, color)
    paste(frame, face, mask, matrix, blend)


def watermark(frame: np.ndarray, text: str) -> None:
    """Draw a visible label in the bottom-left corner (in place), scaled to the
    frame, dark outline under light text so it reads on any background."""
    h, w = frame.shape[:2]
    scale = max(0.4, min(h, w) / 720.0)
    thick = max(1, int(round(2 * scale)))
    org = (int(10 * scale), h - int(12 * scale))
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
