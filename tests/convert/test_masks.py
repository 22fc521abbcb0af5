"""Masks: shapes, erode/dilate, feathering, the learned mask, option checks."""

import numpy as np
import pytest

from faceswap.convert.masks import MaskMaker, landmark_mask, refine_mask, resolve_mask_kind
from faceswap.errors import FaceswapError

S = 64
# five landmarks of a frontal face in a 64 px crop: eyes, nose, mouth corners
POINTS = np.array([[22, 26], [42, 26], [32, 36], [24, 46], [40, 46]], np.float32)


@pytest.mark.parametrize("shape", ["face", "ellipse", "box"])
def test_landmark_mask_covers_the_landmarks(shape):
    m = landmark_mask(S, POINTS, shape)
    assert m.shape == (S, S) and m.dtype == np.float32
    assert set(np.unique(m)) <= {0.0, 1.0}
    for x, y in POINTS.astype(int):
        assert m[y, x] == 1.0
    if shape != "box":
        assert m[0, 0] == 0 and m[S - 1, S - 1] == 0 and m[S - 1, 0] == 0
        # the face is taller than wide: forehead above eyes, chin below mouth
        ys, xs = np.nonzero(m)
        assert ys.min() < 26 - 5 and ys.max() > 46 + 3
        assert (ys.max() - ys.min()) > (xs.max() - xs.min())


def test_face_mask_has_a_jaw():
    face, ell = landmark_mask(S, POINTS, "face"), landmark_mask(S, POINTS, "ellipse")
    assert face.sum() < ell.sum()
    assert (face <= ell).all()


def test_landmark_mask_follows_rotation():
    c = POINTS.mean(axis=0)
    rot = np.array([[0, -1], [1, 0]], np.float32)  # 90 degrees
    m0 = landmark_mask(S, POINTS, "ellipse")
    m1 = landmark_mask(S, (POINTS - c) @ rot.T + c, "ellipse")
    assert abs(m0.sum() - m1.sum()) / m0.sum() < 0.05
    ys, xs = np.nonzero(m1)
    assert (xs.max() - xs.min()) > (ys.max() - ys.min())


def test_erode_dilate_and_feather():
    hard = landmark_mask(S, POINTS, "face")
    plain = refine_mask(hard, erode=0, blur=0)
    eroded = refine_mask(hard, erode=5, blur=0)
    dilated = refine_mask(hard, erode=-5, blur=0)
    assert eroded.sum() < plain.sum() < dilated.sum()
    assert (eroded <= plain + 1e-6).all() and (plain <= dilated + 1e-6).all()
    soft = refine_mask(hard, erode=0, blur=10)
    assert ((soft > 0.01) & (soft < 0.99)).sum() > ((plain > 0.01) & (plain < 0.99)).sum()
    # feathering stays inside the hard shape
    assert soft[hard == 0].max() < 0.05
    # the border of the crop is always 0 (no square edge when warped back)
    box = refine_mask(np.ones((S, S), np.float32), 0, 0)
    assert box[0].max() == 0 and box[:, -1].max() == 0 and box[S // 2, S // 2] == 1


def test_mask_maker_kinds():
    learned = np.zeros((32, 32), np.float32)
    learned[8:24, 8:24] = 1
    mm = MaskMaker("learned", S, None, erode=0, blur=0)
    out = mm(learned)
    assert out.shape == (S, S) and out[S // 2, S // 2] == 1 and out[4, 4] == 0
    face = MaskMaker("face", S, POINTS)
    assert face() is face()  # computed once


def test_resolve_mask_kind():
    assert resolve_mask_kind("auto", True) == "learned"
    assert resolve_mask_kind("auto", False) == "face"
    with pytest.raises(FaceswapError, match="no learned mask"):
        resolve_mask_kind("learned", False)
    with pytest.raises(FaceswapError, match="unknown mask"):
        resolve_mask_kind("blob", False)
