"""Face losses: zero on identical images, positive otherwise, region weights."""

from __future__ import annotations

import pytest
import torch

from faceswap.train.losses import FaceLoss, face_mask, face_weights, region_weights, ssim_map


def test_ssim_is_one_on_identical_images():
    x = torch.rand(2, 3, 24, 24)
    assert torch.allclose(ssim_map(x, x), torch.ones(2, 3, 24, 24), atol=1e-4)


@pytest.mark.parametrize("kind", ["l1+dssim", "mse+dssim", "l1", "mse"])
def test_loss_kinds(kind):
    w = region_weights(24)
    loss = FaceLoss(kind, w)
    x = torch.rand(2, 3, 24, 24)
    zero, _ = loss(x, x)
    assert float(zero) < 1e-4
    pos, parts = loss(x, torch.rand(2, 3, 24, 24))
    assert float(pos) > 0.05 and "pixel" in parts and (("dssim" in parts) == kind.endswith("dssim"))


def test_region_weights_peak_on_eyes_and_mouth():
    lm = torch.tensor([[0.35, 0.40], [0.65, 0.40], [0.5, 0.56], [0.37, 0.72], [0.63, 0.72]])
    w = region_weights(64, lm, eye_weight=2, mouth_weight=2)[0, 0]
    assert w.shape == (64, 64) and float(w.min()) >= 1.0
    assert w[int(0.40 * 64), int(0.35 * 64)] > 2.0  # left eye
    assert w[int(0.72 * 64), 32] > 2.0  # mouth centre
    assert w[2, 2] < 1.01  # corner


def test_face_mask_range():
    m = face_mask(32)
    assert m.shape == (1, 1, 32, 32) and 0 <= float(m.min()) and float(m.max()) <= 1
    assert m[0, 0, 16, 16] > 0.9 and m[0, 0, 0, 0] < 0.1


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown loss"):
        FaceLoss("huber")


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((32, 32))
    b = np.clip(a + rng.random((32, 32)) * 0.3, 0, 1)
    ours = ssim_map(torch.tensor(a)[None, None].float(), torch.tensor(b)[None, None].float())[..., 3:-3, 3:-3].mean()
    ref = skm.structural_similarity(a, b, data_range=1.0, win_size=7)
    assert abs(float(ours) - ref) < 1e-4


def test_face_weights_keep_the_face_and_a_margin():
    m = face_mask(64)
    w = face_weights(m, 0.1)
    assert w.shape == m.shape and abs(float(w.min()) - 0.1) < 1e-6 and abs(float(w.max()) - 1) < 1e-3
    assert w[0, 0, 32, 32] > 0.999 and w[0, 0, 0, 0] < 0.11
    # the margin: where the mask has faded to a few percent the weight is still at least half
    edge = (m > 0.02) & (m < 0.1)
    assert edge.any() and bool((w[edge] > 0.5).all())
    assert torch.equal(face_weights(m, 1.0), torch.ones_like(m))


def test_background_weight_zero_ignores_the_background():
    m = torch.zeros(2, 1, 32, 32)
    m[..., 8:24, 8:24] = 1  # the face; its margin reaches rows 6 to 25
    loss = FaceLoss("l1+dssim", region_weights(32))
    target = torch.rand(2, 3, 32, 32)
    pred = target.clone()
    pred[..., :2, :] = 1 - pred[..., :2, :]  # wrong only in the top rows, outside the face
    w = face_weights(m, 0.0)
    assert float(loss(pred, target, w)[0]) < 1e-4 < float(loss(pred, target)[0])
    pred[..., 14:18, 14:18] = 0  # wrong on the face: counted
    assert float(loss(pred, target, w)[0]) > 1e-3
