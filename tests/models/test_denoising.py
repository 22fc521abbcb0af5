"""DenoisingAutoEncoder and corruptions: build, forward, save/load, training lowers the loss,
reconstruction shape/range, and a denoiser beats the noisy input on held-out data."""

from __future__ import annotations

import pytest
import torch

from faceswap.models.autoencoder import conv_autoencoder, dense_autoencoder
from faceswap.models.denoising import DenoisingAutoEncoder, GaussianNoise, MaskingNoise, SaltAndPepper
from faceswap.models.serialization import ModelError, load_model, save_model
from faceswap.training import fit


def test_corruptions_do_what_they_say():
    g = torch.Generator().manual_seed(0)
    x = torch.full((200, 50), 0.5)
    masked = MaskingNoise(0.3)(x, generator=g)
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.02 and set(masked.unique().tolist()) == {0.0, 0.5}
    sp = SaltAndPepper(0.2)(x, generator=g)
    assert abs((sp == 0).float().mean().item() - 0.1) < 0.02 and abs((sp == 1).float().mean().item() - 0.1) < 0.02
    gn = GaussianNoise(0.1, clip=None)(x, generator=g)
    assert abs((gn - x).std().item() - 0.1) < 0.005
    assert GaussianNoise(5.0)(x).min() >= 0 and GaussianNoise(5.0)(x).max() <= 1
    with pytest.raises(ModelError, match="fraction"):
        MaskingNoise(1.5)


def test_forward_corrupts_in_training_only():
    m = DenoisingAutoEncoder(dense_autoencoder([6, 3, 6], output_activation="sigmoid"), MaskingNoise(0.5))
    x = torch.rand(4, 6) + 0.1
    out = m(x)
    assert (out.extra["corrupted"] == 0).any() and out.recon.shape == x.shape
    assert 0 <= out.recon.min() and out.recon.max() <= 1
    m.eval()
    assert torch.equal(m(x).extra["corrupted"], x)
    torch.testing.assert_close(m.denoise(x), m(x).recon)


def test_wraps_conv_model_and_saves(tmp_path):
    ae = conv_autoencoder(1, (4, 8), recon_loss="bce")
    m = DenoisingAutoEncoder(ae, SaltAndPepper(0.1, low=0.0, high=1.0)).eval()
    save_model(m, tmp_path / "d")
    again = load_model(tmp_path / "d")
    assert isinstance(again.corruption, SaltAndPepper) and again.corruption.fraction == 0.1
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(again.denoise(x), m.denoise(x))


def test_training_lowers_loss_and_denoises():
    """Data on a 2-D linear manifold in 16-D: the denoiser projects noise away (PSNR up)."""
    torch.manual_seed(0)
    basis = torch.randn(2, 16) * 0.2
    x = (torch.rand(512, 2) @ basis + 0.5).clamp(0, 1)
    noise = GaussianNoise(0.1, clip=None)
    m = DenoisingAutoEncoder(dense_autoencoder([16, 32, 2, 32, 16]), noise)
    first = m(x).loss.item()
    fit(m, lambda s: x[torch.randint(0, 512, (64,))], steps=400, lr=3e-3, device="cpu", amp=False, progress=False)
    m.eval()
    assert m(x).loss.item() < 0.2 * first
    noisy = noise(x, generator=torch.Generator().manual_seed(1))
    err_noisy = (noisy - x).pow(2).mean().item()
    err_denoised = (m.denoise(noisy) - x).pow(2).mean().item()
    assert err_denoised < 0.5 * err_noisy, (err_noisy, err_denoised)
