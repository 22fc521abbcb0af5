"""GAN: build, forward, save/load, the alternating step learns, samples have the right shape and range."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from faceswap.models.gan import GAN, GANTrainer, adversarial_loss, discriminator_loss
from faceswap.models.serialization import ModelError, load_model, save_model


def tiny(**kw) -> GAN:
    torch.manual_seed(0)
    return GAN(latent_dim=4, channels=1, image_size=8, width=4, **kw)


@pytest.mark.parametrize("size,upsample", [(8, "upsample"), (28, "transpose"), (16, "pixel_shuffle")])
def test_build_and_sample_shape_range(size, upsample):
    gan = GAN(latent_dim=3, channels=2, image_size=size, width=4, upsample=upsample).eval()
    x = gan.sample(5)
    assert x.shape == (5, 2, size, size) and x.min() >= 0 and x.max() <= 1
    assert gan.discriminator(x).shape == (5, 1)


def test_forward_gives_both_losses():
    out = tiny()(torch.rand(6, 1, 8, 8))
    assert out.loss.dim() == 0 and set(out.parts) == {"d_loss", "g_loss"}
    assert out.extra["fake"].shape == (6, 1, 8, 8)


def test_losses_known_values():
    """With D outputting 0 everywhere, NS losses are log 2 per term, LSGAN 1/2 and 1/4 (per sample)."""
    zero_d = lambda x: torch.zeros(x.shape[0], 1)  # noqa: E731
    real, fake = torch.rand(3, 1, 8, 8), torch.rand(3, 1, 8, 8)
    ln2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(discriminator_loss(zero_d, real, fake, "ns"), 2 * ln2)
    torch.testing.assert_close(adversarial_loss(zero_d, fake, "ns"), ln2)
    torch.testing.assert_close(discriminator_loss(zero_d, real, fake, "lsgan"), torch.tensor(0.5))
    torch.testing.assert_close(adversarial_loss(zero_d, fake, "lsgan"), torch.tensor(0.5))
    with pytest.raises(ModelError, match="unknown GAN loss"):
        adversarial_loss(zero_d, fake, "wgan")


def test_save_load_round_trip(tmp_path):
    gan = tiny(loss="lsgan").eval()
    save_model(gan, tmp_path / "g")
    again = load_model(tmp_path / "g")
    z = torch.randn(2, 4)
    torch.testing.assert_close(again.sample(2, z), gan.sample(2, z))
    assert again.kind == "lsgan"


def test_custom_modules_save_but_need_rebuilding(tmp_path):
    g = nn.Sequential(nn.Linear(2, 16), nn.Sigmoid(), nn.Unflatten(1, (1, 4, 4)))
    d = nn.Sequential(nn.Flatten(), nn.Linear(16, 1))
    gan = GAN(latent_dim=2, generator=g, discriminator=d)
    assert gan.sample(3).shape == (3, 1, 4, 4)
    save_model(gan, tmp_path / "c")
    with pytest.raises(ModelError, match="custom"):
        load_model(tmp_path / "c")


def test_alternating_step_moves_generator_toward_data():
    """Real data: constant 0.8 images. After training, G's samples are much closer to 0.8 than at start."""
    gan = tiny()
    real = torch.full((32, 1, 8, 8), 0.8)
    trainer = GANTrainer(gan, lr_g=5e-3, lr_d=2e-3)
    gan.eval()
    before = (gan.sample(64) - 0.8).abs().mean().item()
    gan.train()
    history = trainer.train(lambda step: real, steps=60)
    assert len(history) == 60 and all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
    gan.eval()
    after = (gan.sample(64) - 0.8).abs().mean().item()
    assert after < 0.5 * before, (before, after)
    # G's step leaves no gradient in D, and D is trainable again afterwards
    assert all(p.requires_grad for p in gan.discriminator.parameters())
