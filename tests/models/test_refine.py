"""DetailUpsampler: build, forward shapes, bicubic at start, save/load, learns on a real face."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from faceswap.models import ModelError, load_model, save_model
from faceswap.models.refine import DetailUpsampler, highpass


def test_shapes_and_scales():
    for scale in (2, 4):
        net = DetailUpsampler({"scale": scale, "channels": 8, "blocks": 2})
        out = net(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16 * scale, 16 * scale))
        assert out.recon.shape == (2, 3, 16 * scale, 16 * scale)
        assert out.loss.ndim == 0 and set(out.parts) == {"recon_loss", "detail_loss"}
    with pytest.raises(ModelError):
        DetailUpsampler({"scale": 3})
    with pytest.raises(ModelError):
        DetailUpsampler({"colour": 1})


def test_starts_as_bicubic():
    x = torch.rand(1, 3, 16, 16)
    net = DetailUpsampler({"scale": 4, "channels": 8})
    expected = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    assert torch.allclose(net.upscale(x), expected, atol=1e-6)


def test_save_load_round_trip(tmp_path):
    net = DetailUpsampler({"scale": 2, "channels": 8, "blocks": 2})
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_model(net, tmp_path / "m")
    back = load_model(tmp_path / "m")
    x = torch.rand(1, 3, 8, 8)
    assert isinstance(back, DetailUpsampler) and torch.equal(back.upscale(x), net.upscale(x))


def test_highpass_is_zero_on_flat_images():
    assert highpass(torch.full((1, 3, 9, 9), 0.3)).abs().max() < 1e-6


def test_learns_detail_of_a_real_face():
    """Eileen Collins (public domain, skimage): low-res blurred patches -> the real ones; loss falls."""
    skimage = pytest.importorskip("skimage.data")
    from faceswap.training import fit

    face = torch.from_numpy(np.ascontiguousarray(skimage.astronaut()[20:276, 120:376])).permute(2, 0, 1).float() / 255
    hr = face[None]
    # what a 64 px decoder gives: the face averaged down, then softened further
    lo = F.interpolate(F.avg_pool2d(F.interpolate(hr, size=(128, 128), mode="area"), 3, 1, 1,
                                    count_include_pad=False), size=(64, 64), mode="area")
    g = torch.Generator().manual_seed(0)

    def batches(step):
        ys, xs = torch.randint(0, 48, (2, 8), generator=g)
        x = torch.stack([lo[0, :, y:y + 16, x_:x_ + 16] for y, x_ in zip(ys, xs)])
        t = torch.stack([hr[0, :, 4 * y:4 * y + 64, 4 * x_:4 * x_ + 64] for y, x_ in zip(ys, xs)])
        return {"x": x, "target": t}

    torch.manual_seed(0)  # the initial weights too: the result must not depend on which tests ran before
    net = DetailUpsampler({"scale": 4, "channels": 16, "blocks": 3})
    with torch.no_grad():
        before = net(lo, hr).loss.item()
    fit(net, batches, steps=400, lr=2e-3, device="cpu", progress=False)
    with torch.no_grad():
        after = net(lo, hr).loss.item()
    assert after < 0.85 * before, (before, after)
