"""Face losses: zero on identical images, positive otherwise, region weights."""

from __future__ import annotations

import pytest
import torch

from faceswap.train.losses import FaceLoss, face_mask, region_weights, ssim_map


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
