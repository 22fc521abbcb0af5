"""Warping back and blending on synthetic frames with known answers."""

import cv2
import numpy as np
import pytest

from faceswap.convert.blend import crop, crop_bounds, paste, warp_to_frame, watermark
from faceswap.errors import FaceswapError

S = 64


def _matrix(angle=17.0, scale=0.6, center=(150.0, 110.0)):
    """frame -> crop: rotate/scale about `center`, which lands at the crop centre."""
    m = cv2.getRotationMatrix2D(center, angle, scale)
    m[:, 2] += np.array([S / 2, S / 2]) - np.array(center)
    return m


def _frame(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    # a smooth image (warping a smooth image is well defined at sub-pixel level)
    small = rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_warp_and_inverse_round_trip_within_a_pixel():
    # a point carried frame -> crop -> frame lands where it started
    m = _matrix()
    bounds = crop_bounds(m, S, (240, 320))
    x0, y0, x1, y1 = bounds
    img = np.zeros((S, S), np.float32)
    img[20, 40] = 1.0  # one bright crop pixel
    back = warp_to_frame(cv2.GaussianBlur(img, (7, 7), 1.0), m, bounds)
    yy, xx = np.unravel_index(np.argmax(back), back.shape)
    inv = cv2.invertAffineTransform(m)
    ex, ey = inv @ np.array([40, 20, 1.0])
    assert abs(xx + x0 - ex) <= 1 and abs(yy + y0 - ey) <= 1
    # image round trip: crop, warp back, compare inside the crop's interior
    frame = _frame()
    c = crop(frame, m, S)
    back = warp_to_frame(c, m, bounds)
    inside = warp_to_frame(np.pad(np.ones((S - 8, S - 8), np.float32), 4), m, bounds) > 0.999
    err = np.abs(back.astype(int) - frame[y0:y1, x0:x1].astype(int))[inside]
    assert err.mean() < 2.0  # two linear resamplings of a smooth image


def test_crop_bounds_cover_the_crop_and_clip_to_the_frame():
    m = _matrix()
    x0, y0, x1, y1 = crop_bounds(m, S, (240, 320))
    inv = cv2.invertAffineTransform(m)
    for cx, cy in [(0, 0), (S, 0), (0, S), (S, S)]:
        x, y = inv @ np.array([cx, cy, 1.0])
        assert x0 <= x <= x1 and y0 <= y <= y1
    assert crop_bounds(_matrix(center=(-500.0, -500.0)), S, (240, 320)) is None
    x0, y0, x1, y1 = crop_bounds(_matrix(center=(5.0, 5.0)), S, (240, 320))
    assert x0 == 0 and y0 == 0


@pytest.mark.parametrize("method", ["alpha", "poisson"])
def test_blend_leaves_pixels_outside_the_mask_untouched(method):
    frame = _frame()
    original = frame.copy()
    m = _matrix()
    face = np.full((S, S, 3), (200, 40, 90), np.uint8)
    mask = np.zeros((S, S), np.float32)
    cv2.circle(mask, (S // 2, S // 2), 20, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (9, 9), 2)
    bounds = paste(frame, face, mask, m, method)
    x0, y0, x1, y1 = bounds
    alpha = np.zeros(frame.shape[:2], np.float32)
    alpha[y0:y1, x0:x1] = warp_to_frame(mask, m, bounds)
    outside = alpha == 0
    assert np.array_equal(frame[outside], original[outside])  # exactly
    # the middle of the mask changed
    cx, cy = (cv2.invertAffineTransform(m) @ np.array([S / 2, S / 2, 1.0])).round().astype(int)
    if method == "alpha":
        assert np.abs(frame[cy, cx].astype(int) - [200, 40, 90]).max() <= 1
    assert not np.array_equal(frame[y0:y1, x0:x1], original[y0:y1, x0:x1])


def test_alpha_blend_weights():
    frame = np.full((100, 100, 3), 100, np.uint8)
    m = np.array([[1, 0, -18], [0, 1, -18]], np.float64)  # the crop is frame[18:82, 18:82]
    face = np.full((S, S, 3), 200, np.uint8)
    mask = np.zeros((S, S), np.float32)
    mask[10:20, 10:20] = 1.0
    mask[30:40, 30:40] = 0.25
    paste(frame, face, mask, m, "alpha")
    assert (frame[18 + 15, 18 + 15] == 200).all()
    assert (frame[18 + 35, 18 + 35] == 125).all()
    assert (frame[18 + 25, 18 + 25] == 100).all()


def test_poisson_matches_gradients_not_colour():
    # cloning a flat bright face onto a flat dark frame: Poisson keeps the
    # frame's level (gradients of a flat source are zero), alpha does not
    frame = np.full((120, 120, 3), 60, np.uint8)
    m = np.array([[1, 0, -28], [0, 1, -28]], np.float64)
    face = np.full((S, S, 3), 220, np.uint8)
    mask = np.zeros((S, S), np.float32)
    mask[12:52, 12:52] = 1
    poisson = frame.copy()
    paste(poisson, face, mask, m, "poisson")
    assert np.abs(poisson[60, 60].astype(int) - 60).max() <= 3
    alpha = frame.copy()
    paste(alpha, face, mask, m, "alpha")
    assert (alpha[60, 60] == 220).all()
    with pytest.raises(FaceswapError):
        paste(frame.copy(), face, mask, m, "magic")


def test_poisson_carries_the_face_features_and_replaces_the_frames():
    # the face has a bright bar; the frame has a dark square where the face goes
    frame = np.full((120, 120, 3), 60, np.uint8)
    frame[55:65, 55:65] = 0
    m = np.array([[1, 0, -28], [0, 1, -28]], np.float64)
    face = np.full((S, S, 3), 120, np.uint8)
    face[20:26, 16:48] = 250
    mask = np.zeros((S, S), np.float32)
    mask[8:56, 8:56] = 1
    out = frame.copy()
    paste(out, face, mask, m, "poisson")
    bar, beside = out[28 + 23, 28 + 32].astype(int), out[28 + 32, 28 + 16].astype(int)
    assert (bar - beside).min() > 80  # the face's bar is there, with its contrast
    assert out[60, 60].min() > 30  # the frame's dark square is gone


def test_watermark_is_visible():
    frame = np.zeros((360, 640, 3), np.uint8)
    watermark(frame, "SYNTHETIC")
    assert frame[300:, :300].max() == 255
    assert frame[:200].max() == 0
