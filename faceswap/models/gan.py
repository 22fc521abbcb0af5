"""Generative adversarial network: a generator G(z) and a discriminator D(x), trained in turns.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. D learns to tell real images
from G's; G learns to fool D. Two losses (``kind``):

* ``"ns"``: the non-saturating loss of Goodfellow et al. (section 3): D minimises
  ``softplus(-D(x)) + softplus(D(G(z)))`` (cross-entropy on logits) and G minimises
  ``softplus(-D(G(z)))`` = ``-log sigmoid(D(G(z)))``, which keeps G's gradient alive
  while D still wins easily.
* ``"lsgan"``: least squares (Mao et al., "Least Squares Generative Adversarial Networks",
  ICCV 2017): D minimises ``((D(x) - 1)^2 + D(G(z))^2) / 2``, G minimises ``(D(G(z)) - 1)^2 / 2``.

Every loss is per sample then averaged over the batch (the library convention).

The default networks follow DCGAN (Radford, Metz & Chintala, ICLR 2016): batch norm,
ReLU in G, LeakyReLU(0.2) and strided convolutions in D, no pooling. G upsamples with the
library's explicit blocks (upsample+conv by default; ``"transpose"`` is DCGAN's own choice,
kept as an option). Any generator and discriminator modules can be passed instead.

A GAN cannot be trained by the one-loss ``fit`` loop: ``GANTrainer.step`` does the
alternating update with two Adam optimisers. The discriminator can also serve as an extra
loss for another model (e.g. the face-swap decoder): ``adversarial_loss(D, fake)`` for the
model, ``discriminator_loss(D, real, fake.detach())`` for D.

Images: (B, C, H, W) in [0, 1]; latent codes z: (B, latent_dim) ~ N(0, I).
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.blocks import UPSAMPLE_KINDS, upsample_block
from faceswap.models.serialization import ModelError, register_model

__all__ = ["GAN", "GANTrainer", "DCGANGenerator", "DCGANDiscriminator", "adversarial_loss",
           "discriminator_loss", "GAN_LOSSES"]

GAN_LOSSES = ("ns", "lsgan")


def _check_kind(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ModelError(f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSSES)}")


def _logits(discriminator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """D's output as (B,) per-sample scores (any trailing dims, e.g. a patch map, are averaged)."""
    out = discriminator(x)
    return out.reshape(out.shape[0], -1).mean(dim=1)


def discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       kind: str = "ns") -> torch.Tensor:
    """D's loss: real should score as real, fake as fake. Pass ``fake.detach()`` to leave G alone."""
    _check_kind(kind)
    d_real, d_fake = _logits(discriminator, real), _logits(discriminator, fake)
    if kind == "ns":
        return (F.softplus(-d_real) + F.softplus(d_fake)).mean()
    return (0.5 * (d_real - 1) ** 2 + 0.5 * d_fake ** 2).mean()


def adversarial_loss(discriminator: nn.Module, fake: torch.Tensor, kind: str = "ns") -> torch.Tensor:
    """The generator's loss: how real D finds ``fake``. Gradients flow into whatever made ``fake``."""
    _check_kind(kind)
    d_fake = _logits(discriminator, fake)
    if kind == "ns":
        return F.softplus(-d_fake).mean()
    return (0.5 * (d_fake - 1) ** 2).mean()


def _levels(image_size: int) -> tuple[int, int]:
    """(base size, number of 2x steps): halve while even and above 4. 28 -> (7, 2), 64 -> (4, 4)."""
    base, n = int(image_size), 0
    while base % 2 == 0 and base > 4:
        base, n = base // 2, n + 1
    return base, n


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> image (B, channels, image_size, image_size) in [0, 1]."""

    def __init__(self, latent_dim: int = 32, channels: int = 1, image_size: int = 28, width: int = 32,
                 upsample: str = "upsample"):
        super().__init__()
        if upsample not in UPSAMPLE_KINDS:
            raise ModelError(f"unknown upsample kind {upsample!r}; choose one of {', '.join(UPSAMPLE_KINDS)}")
        base, n = _levels(image_size)
        chans = [width * 2 ** (n - i) for i in range(n + 1)]
        layers: list[nn.Module] = [nn.Linear(latent_dim, chans[0] * base * base),
                                   nn.Unflatten(1, (chans[0], base, base)), nn.BatchNorm2d(chans[0]), nn.ReLU()]
        for a, b in zip(chans, chans[1:]):
            layers += [upsample_block(upsample, a, b, act=None), nn.BatchNorm2d(b), nn.ReLU()]
        layers += [nn.Conv2d(chans[-1], channels, 3, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """image (B, channels, image_size, image_size) -> (B, 1) logits (real > 0)."""

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 32):
        super().__init__()
        base, n = _levels(image_size)
        layers: list[nn.Module] = []
        cin = channels
        for i in range(max(n, 1)):
            cout = width * 2 ** i
            stride = 2 if n else 1
            layers.append(nn.Conv2d(cin, cout, 4 if n else 3, stride=stride, padding=1))
            if i:  # DCGAN: no batch norm on the first layer
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2))
            cin = cout
        layers += [nn.Flatten(), nn.Linear(cin * base * base, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model
class GAN(nn.Module):
    """A generator and a discriminator with their loss kind.

    Built from the config (DCGAN nets sized by ``latent_dim``, ``channels``, ``image_size``,
    ``width``, ``upsample``) or from any ``generator`` (z -> images in [0, 1]) and
    ``discriminator`` (images -> logits) modules. A GAN built from custom modules still saves
    its weights, but ``load_model`` cannot rebuild it: build it again, then ``load_weights``.
    """

    def __init__(self, latent_dim: int = 32, channels: int = 1, image_size: int = 28, width: int = 32,
                 upsample: str = "upsample", loss: str = "ns",
                 generator: nn.Module | None = None, discriminator: nn.Module | None = None):
        super().__init__()
        _check_kind(loss)
        self.latent_dim, self.kind = int(latent_dim), loss
        self.generator = generator or DCGANGenerator(latent_dim, channels, image_size, width, upsample)
        self.discriminator = discriminator or DCGANDiscriminator(channels, image_size, width)
        self.config = {"latent_dim": int(latent_dim), "channels": channels, "image_size": image_size,
                       "width": width, "upsample": upsample, "loss": loss,
                       "custom_modules": generator is not None or discriminator is not None}

    @classmethod
    def from_config(cls, config: dict) -> "GAN":
        config = dict(config)
        if config.pop("custom_modules", False):
            raise ModelError("this GAN was built from custom generator/discriminator modules; build it the same "
                             "way, then load the weights with faceswap.models.serialization.load_weights")
        return cls(**config)

    def sample_latent(self, n: int, device: torch.device | None = None) -> torch.Tensor:
        device = device or next(self.parameters()).device
        return torch.randn(n, self.latent_dim, device=device)

    @torch.no_grad()
    def sample(self, n: int, z: torch.Tensor | None = None) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1] from z ~ N(0, I) (or the given z). Call ``.eval()`` first."""
        return self.generator(self.sample_latent(n) if z is None else z)

    def forward(self, real: torch.Tensor) -> ModelOutput:
        """Evaluate both losses on a real batch (no update). ``loss`` is D's loss; train with GANTrainer."""
        fake = self.generator(self.sample_latent(real.shape[0], real.device))
        d_loss = discriminator_loss(self.discriminator, real, fake, self.kind)
        g_loss = adversarial_loss(self.discriminator, fake, self.kind)
        return ModelOutput(loss=d_loss, parts={"d_loss": d_loss.detach(), "g_loss": g_loss.detach()},
                           recon=None, code=None, extra={"fake": fake})


class GANTrainer:
    """The alternating update: ``d_steps`` discriminator steps, then one generator step.

    Adam with ``betas=(0.5, 0.999)`` and lr 2e-4 as in DCGAN. ``step(real)`` returns the
    losses as floats.
    """

    def __init__(self, gan: GAN, lr_g: float = 2e-4, lr_d: float = 2e-4, betas=(0.5, 0.999), d_steps: int = 1,
                 device: torch.device | str | None = None):
        self.gan = gan
        self.device = torch.device(device) if device is not None else next(gan.parameters()).device
        gan.to(self.device).train()
        self.opt_g = torch.optim.Adam(gan.generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=lr_d, betas=betas)
        self.d_steps = int(d_steps)
        self.steps_done = 0

    def step(self, real: torch.Tensor) -> dict[str, float]:
        gan, D = self.gan, self.gan.discriminator
        real = real.to(self.device)
        n = real.shape[0]
        for _ in range(self.d_steps):
            with torch.no_grad():
                fake = gan.generator(gan.sample_latent(n, self.device))
            d_loss = discriminator_loss(D, real, fake, gan.kind)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
        D.requires_grad_(False)  # G's step must not leave gradients in D
        try:
            fake = gan.generator(gan.sample_latent(n, self.device))
            g_loss = adversarial_loss(D, fake, gan.kind)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        finally:
            D.requires_grad_(True)
        self.steps_done += 1
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    def train(self, batches: Callable[[int], torch.Tensor] | Iterable[torch.Tensor], steps: int,
              callback: Callable[[int, dict[str, float]], Any] | None = None) -> list[dict[str, float]]:
        """Run ``steps`` updates. ``batches``: ``batches(step) -> real`` or an iterable of real batches."""
        source = (batches(s) for s in itertools.count(self.steps_done)) if callable(batches) else iter(batches)
        history = []
        for _ in range(int(steps)):
            logs = self.step(next(source))
            history.append(logs)
            if callback is not None:
                callback(self.steps_done, logs)
        return history
