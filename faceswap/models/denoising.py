"""Denoising autoencoder: learn to undo a corruption, which forces useful features.

Vincent, Larochelle, Bengio & Manzagol, "Extracting and Composing Robust Features with
Denoising Autoencoders", ICML 2008: draw a corrupted x~ ~ C(x~ | x), train on
L(x, g(f(x~))), i.e. reconstruct the CLEAN input from the corrupted one. The model cannot
learn the identity even when over-complete, and it learns the data's manifold (the
corruption moves points off it; the decoder maps them back).

Corruptions are small objects, ``corruption(x) -> x~`` (same shape, values kept in [0, 1]
for [0, 1] data), each registered so that a saved model rebuilds its corruption:

* ``GaussianNoise(std)``: additive isotropic Gaussian noise, clipped to [0, 1].
* ``MaskingNoise(fraction)``: a random ``fraction`` of the entries set to 0 (Vincent 2008).
* ``SaltAndPepper(fraction)``: a random ``fraction`` set to 0 or 1 with equal chance
  (Vincent et al., JMLR 2010, section 4.1).

``DenoisingAutoEncoder(autoencoder, corruption)`` wraps ANY autoencoder whose
``forward(x, target=None)`` returns a ``ModelOutput`` (the library's AutoEncoder family).
In training mode ``forward`` corrupts its input; in eval mode it reconstructs the input as
given (so ``model.eval()(noisy)`` denoises). ``denoise(x~)`` is the same without the loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.serialization import ModelError, build_from_config, register_model, to_spec

__all__ = ["DenoisingAutoEncoder", "Corruption", "GaussianNoise", "MaskingNoise", "SaltAndPepper"]


class Corruption:
    """Base: ``__call__(x, generator=None) -> corrupted copy``; ``config`` rebuilds it."""

    config: dict[str, Any]

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config.items())})"


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ModelError(f"corruption fraction must be in [0, 1], got {value}")
    return float(value)


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


@register_model
class GaussianNoise(Corruption):
    """x + std * N(0, 1), clipped to [lo, hi] when ``clip`` (None: no clipping)."""

    def __init__(self, std: float = 0.3, clip: tuple[float, float] | None = (0.0, 1.0)):
        if std < 0:
            raise ModelError(f"noise std must be >= 0, got {std}")
        self.std, self.clip = float(std), (tuple(clip) if clip is not None else None)
        self.config = {"std": self.std, "clip": list(self.clip) if self.clip else None}

    def __call__(self, x, generator=None):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        out = x + self.std * noise
        return out.clamp(*self.clip) if self.clip else out


@register_model
class MaskingNoise(Corruption):
    """Each entry set to ``value`` (default 0) with probability ``fraction``."""

    def __init__(self, fraction: float = 0.25, value: float = 0.0):
        self.fraction, self.value = _fraction(fraction), float(value)
        self.config = {"fraction": self.fraction, "value": self.value}

    def __call__(self, x, generator=None):
        return torch.where(_uniform(x, generator) < self.fraction, torch.full_like(x, self.value), x)


@register_model
class SaltAndPepper(Corruption):
    """Each entry, with probability ``fraction``, set to ``low`` or ``high`` (equal chance)."""

    def __init__(self, fraction: float = 0.1, low: float = 0.0, high: float = 1.0):
        self.fraction, self.low, self.high = _fraction(fraction), float(low), float(high)
        self.config = {"fraction": self.fraction, "low": self.low, "high": self.high}

    def __call__(self, x, generator=None):
        hit = _uniform(x, generator) < self.fraction
        salt = _uniform(x, generator) < 0.5
        noisy = torch.where(salt, torch.full_like(x, self.high), torch.full_like(x, self.low))
        return torch.where(hit, noisy, x)


def _build(spec: Any, what: str) -> Any:
    return build_from_config(spec.get("type"), spec.get("config", {}), where=what) if isinstance(spec, dict) else spec


@register_model
class DenoisingAutoEncoder(nn.Module):
    """Wraps ``autoencoder``: trains it on ``(corruption(x), target=x)``.

    ``autoencoder``: a module (or its ``{"type", "config"}`` spec); ``corruption``: a
    Corruption (or spec). Saving needs both to be registered (every library class is).
    x: (B, ...) clean input -> ModelOutput of the wrapped model, with
    ``extra["corrupted"]`` the input it saw.
    """

    def __init__(self, autoencoder: nn.Module | dict, corruption: Corruption | dict | None = None):
        super().__init__()
        self.autoencoder = _build(autoencoder, "autoencoder")
        self.corruption = _build(corruption, "corruption") if corruption is not None else GaussianNoise()
        if not callable(self.corruption):
            raise ModelError(f"corruption must be callable (x -> corrupted x), got {type(self.corruption).__name__}")

    @property
    def config(self) -> dict[str, Any]:
        return {"autoencoder": to_spec(self.autoencoder), "corruption": to_spec(self.corruption)}

    @classmethod
    def from_config(cls, config: dict) -> "DenoisingAutoEncoder":
        return cls(**config)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.encode(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(code)

    @torch.no_grad()
    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """The clean estimate of a (corrupted) input: the wrapped model's reconstruction."""
        return self.autoencoder(x).recon

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> ModelOutput:
        clean = x if target is None else target
        seen = self.corruption(x) if self.training else x
        out = self.autoencoder(seen, target=clean)
        out.extra["corrupted"] = seen
        return out
