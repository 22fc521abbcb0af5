"""Alignment maths: Umeyama, the template, crops, smoothing (no data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap.extract.align import (
    DEFAULT_COVERAGE, TEMPLATE, LandmarkSmoother, align, smooth_sequence, template_points, transform_points, umeyama,
)


def _similarity(scale: float, angle: float, shift) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]]])


def test_umeyama_recovers_a_similarity_exactly():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (5, 2))
    truth = _similarity(1.7, 0.4, (12.0, -30.0))
    found = umeyama(src, transform_points(src, truth))
    np.testing.assert_allclose(found, truth, atol=1e-4)


def test_umeyama_is_least_squares_and_never_reflects():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2))
    dst = src * [-1, 1]  # a mirror image: the best similarity must still be a rotation
    m = umeyama(src, dst)
    assert np.linalg.det(m[:, :2]) > 0
    noisy = transform_points(src, _similarity(0.5, -1.0, (3, 4))) + rng.normal(0, 0.5, (5, 2))
    m = umeyama(src, noisy)
    # the same least-squares problem over similarities [[a, -b, tx], [b, a, ty]], solved linearly
    rows = np.concatenate([np.c_[src[:, 0], -src[:, 1], np.ones(5), np.zeros(5)],
                           np.c_[src[:, 1], src[:, 0], np.zeros(5), np.ones(5)]])
    a, b, tx, ty = np.linalg.lstsq(rows, np.concatenate([noisy[:, 0], noisy[:, 1]]), rcond=None)[0]
    np.testing.assert_allclose(m, [[a, -b, tx], [b, a, ty]], atol=1e-6)


def test_template_points_scale_about_the_centre():
    full = template_points(256, 1.0)
    np.testing.assert_allclose(full, TEMPLATE * 256, rtol=1e-6)
    half = template_points(256, 0.5)
    np.testing.assert_allclose(half - 128, (full - 128) * 0.5, atol=1e-4)
    assert template_points(128, DEFAULT_COVERAGE).shape == (5, 2)
    with pytest.raises(ValueError):
        template_points(64, 0)


def test_align_puts_landmarks_on_the_template():
    image = np.random.default_rng(2).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    frame_to_template = _similarity(2.0, 0.3, (-60.0, 10.0))
    landmarks = transform_points(template_points(64, 0.75), np.linalg.inv(np.vstack([frame_to_template, [0, 0, 1]]))[:2])
    crop, matrix = align(image, landmarks, size=64, coverage=0.75)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    np.testing.assert_allclose(transform_points(landmarks, matrix), template_points(64, 0.75), atol=1e-3)


def test_smoothing_reduces_jitter_and_resets_on_jumps():
    rng = np.random.default_rng(3)
    base = TEMPLATE * 200
    seq = base + rng.normal(0, 2.0, (50, 5, 2)).astype(np.float32)
    smooth = smooth_sequence(seq, radius=3)
    assert smooth.shape == seq.shape
    assert np.abs(smooth - base).mean() < 0.6 * np.abs(seq - base).mean()
    smoother = LandmarkSmoother(alpha=0.3)
    online = np.stack([smoother(x) for x in seq])
    assert np.abs(online[10:] - base).mean() < np.abs(seq[10:] - base).mean()
    jumped = smoother(base + 150)  # a different face: no dragging of the old one
    np.testing.assert_allclose(jumped, base + 150)
