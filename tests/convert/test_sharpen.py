"""Halo-free sharpening: steeper edges, no overshoot, closer to a real face than its blur."""

import cv2
import numpy as np
import pytest

from faceswap.convert.sharpen import check_sharpen, sharpen
from faceswap.errors import FaceswapError


def _soft_edge(size: int = 256) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    img[:, size // 2:] = 200
    img[:, : size // 2] = 40
    return cv2.GaussianBlur(img, (0, 0), 3.0)


def _rise(im: np.ndarray) -> int:
    """Pixels the edge takes to climb from 10 % to 90 % of its step."""
    row = im[im.shape[0] // 2, :, 0].astype(float)
    return int(((row > 56) & (row < 184)).sum())


def test_zero_leaves_the_face_as_is():
    face = _soft_edge()
    assert sharpen(face, 0.0) is face


def test_steeper_edge_without_halos():
    face = _soft_edge()
    out = sharpen(face, 2.0)
    assert _rise(out) <= 0.75 * _rise(face)
    # no pixel leaves the range of its 3x3 neighbourhood, so nothing rings past the edge's two levels
    k = np.ones((3, 3), np.uint8)
    assert (out >= cv2.erode(face, k)).all() and (out <= cv2.dilate(face, k)).all()
    assert out.min() >= face.min() and out.max() <= face.max()
    # a plain unsharp mask of the same strength overshoots (the halo this avoids)
    x = face.astype(np.float32)
    plain = x + 2.0 * (x - cv2.GaussianBlur(x, (0, 0), 0.01 * 256))
    assert plain.max() > face.max() + 5 or plain.min() < face.min() - 5


def test_brings_a_blurred_real_face_back_toward_the_original(faces_dir):
    from faceswap.video import FrameReader

    frame = next(iter(FrameReader(faces_dir / "d6.mp4"))).image
    h, w = frame.shape[:2]
    face = cv2.resize(frame[h // 4: 3 * h // 4, w // 4: 3 * w // 4], (256, 256), interpolation=cv2.INTER_AREA)
    soft = cv2.GaussianBlur(face, (0, 0), 1.5)
    out = sharpen(soft, 1.5)
    lap = lambda im: cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()  # noqa: E731
    assert lap(soft) < lap(out) <= lap(face) * 1.05
    err = lambda im: np.abs(im.astype(int) - face.astype(int)).mean()  # noqa: E731
    assert err(out) < err(soft)


@pytest.mark.parametrize("bad", [-0.5, 5.0])
def test_out_of_range_amount_is_a_user_error(bad):
    with pytest.raises(FaceswapError, match="--sharpen"):
        check_sharpen(bad)
