"""Stochastic decoders: the distribution p(x | z) a decoder's output parameterises.

A decoder that ends in ``k * C`` channels (or ``k * D`` features) feeds one of these
objects, which turns those raw numbers into a distribution over the data and gives

- ``nll(params, x) -> (B,)``: negative log-likelihood of each sample, SUMMED over the
  data dimensions (the library's reduction convention; average over the batch yourself);
- ``sample(params)``: a draw from p(x | z), same shape as ``x``;
- ``mean(params)``: the expected value (what to show as "the reconstruction");
- ``params_per_channel``: k, how many decoder outputs each data channel needs.

Parameters are laid out block-wise along dim 1: ``params[:, i*C:(i+1)*C]`` is the i-th
parameter (e.g. mean then log-variance) for all C channels. This works for dense
``(B, k*D)`` and convolutional ``(B, k*C, H, W)`` decoders alike.

Any autoencoder can use one as its reconstruction loss (``AutoEncoder(..., recon_loss=
BernoulliLikelihood())``). The choice matters for generative models: a Bernoulli decoder
(Kingma & Welling 2014, appendix C.1) suits near-binary images such as MNIST, a Gaussian
with learned variance (appendix C.2) continuous data, and a per-pixel categorical over
quantised intensities (van den Oord et al. 2016, "Pixel Recurrent Neural Networks")
makes no assumption on the shape of each pixel's distribution.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from faceswap.models.serialization import register_model

__all__ = [
    "Likelihood",
    "GaussianLikelihood",
    "BernoulliLikelihood",
    "CategoricalLikelihood",
    "get_likelihood",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _sum_data_dims(t: torch.Tensor) -> torch.Tensor:
    """(B, ...) -> (B,): sum over everything but the batch."""
    return t.reshape(t.shape[0], -1).sum(dim=1)


def _split(params: torch.Tensor, k: int) -> list[torch.Tensor]:
    if params.shape[1] % k:
        raise ValueError(f"params have {params.shape[1]} channels; expected a multiple of {k}")
    return list(params.chunk(k, dim=1))


class Likelihood:
    """Base class: a small, stateless object (parameters live in the decoder)."""

    name = "likelihood"
    params_per_channel = 1

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able); ``type(self)(**config)`` rebuilds the object."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"


@register_model
class GaussianLikelihood(Likelihood):
    """Diagonal Gaussian N(x; mu, sigma^2).

    ``learn_variance=False``: params are the mean only (k=1) and sigma is fixed to ``sigma``;
    the NLL is then ``||x - mu||^2 / (2 sigma^2)`` plus a constant, i.e. a scaled squared error.
    ``learn_variance=True``: params are ``[mu, log sigma^2]`` (k=2); the log-variance is
    clamped to ``[min_logvar, max_logvar]`` so one confident pixel cannot blow the loss up.
    """

    name = "gaussian"

    def __init__(self, learn_variance: bool = False, sigma: float = 1.0,
                 min_logvar: float = -7.0, max_logvar: float = 4.0):
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.learn_variance = bool(learn_variance)
        self.sigma = float(sigma)
        self.min_logvar = float(min_logvar)
        self.max_logvar = float(max_logvar)
        self.params_per_channel = 2 if self.learn_variance else 1

    def _mean_logvar(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.learn_variance:
            mu, logvar = _split(params, 2)
            return mu, logvar.clamp(self.min_logvar, self.max_logvar)
        return params, torch.full_like(params, 2.0 * math.log(self.sigma))

    def nll(self, params, x):
        mu, logvar = self._mean_logvar(params)
        per_dim = 0.5 * (_LOG_2PI + logvar + (x - mu) ** 2 * torch.exp(-logvar))
        return _sum_data_dims(per_dim)

    def sample(self, params):
        mu, logvar = self._mean_logvar(params)
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def mean(self, params):
        return self._mean_logvar(params)[0]

    @property
    def config(self):
        return {"learn_variance": self.learn_variance, "sigma": self.sigma,
                "min_logvar": self.min_logvar, "max_logvar": self.max_logvar}


@register_model
class BernoulliLikelihood(Likelihood):
    """Independent Bernoulli per data dimension, parameterised by logits (k=1).

    ``x`` may be any value in [0, 1] (grey levels are treated as soft targets, as is usual
    for MNIST); the NLL is binary cross-entropy with logits, summed over data dims.
    """

    name = "bernoulli"

    def nll(self, params, x):
        return _sum_data_dims(F.binary_cross_entropy_with_logits(params, x, reduction="none"))

    def sample(self, params):
        return torch.bernoulli(torch.sigmoid(params))

    def mean(self, params):
        return torch.sigmoid(params)


@register_model
class CategoricalLikelihood(Likelihood):
    """A categorical distribution over ``num_classes`` intensity levels per data dimension.

    ``x`` in [0, 1] is quantised to ``round(x * (num_classes - 1))``. Params are
    ``(B, C * num_classes, ...)`` laid out channel-major: ``params.view(B, C, K, ...)``.
    ``sample`` and ``mean`` return values back in [0, 1].
    """

    name = "categorical"

    def __init__(self, num_classes: int = 256):
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.num_classes = int(num_classes)
        self.params_per_channel = self.num_classes

    def _logits(self, params: torch.Tensor) -> torch.Tensor:
        """-> (B, C, K, ...)"""
        k = self.num_classes
        if params.shape[1] % k:
            raise ValueError(f"params have {params.shape[1]} channels; expected a multiple of {k}")
        return params.reshape(params.shape[0], params.shape[1] // k, k, *params.shape[2:])

    def quantise(self, x: torch.Tensor) -> torch.Tensor:
        return (x.clamp(0, 1) * (self.num_classes - 1)).round().long()

    def nll(self, params, x):
        logits = self._logits(params)
        # cross_entropy wants the classes at dim 1: (B, K, C, ...)
        return _sum_data_dims(F.cross_entropy(logits.movedim(2, 1), self.quantise(x), reduction="none"))

    def sample(self, params):
        logits = self._logits(params)
        moved = logits.movedim(2, -1)  # (B, C, ..., K)
        idx = torch.distributions.Categorical(logits=moved).sample()
        return idx.to(params.dtype) / (self.num_classes - 1)

    def mean(self, params):
        probs = self._logits(params).softmax(dim=2)
        levels = torch.linspace(0, 1, self.num_classes, device=params.device, dtype=probs.dtype)
        shape = [1, 1, self.num_classes] + [1] * (probs.dim() - 3)
        return (probs * levels.view(shape)).sum(dim=2)

    @property
    def config(self):
        return {"num_classes": self.num_classes}


_LIKELIHOODS = {c.name: c for c in (GaussianLikelihood, BernoulliLikelihood, CategoricalLikelihood)}


def get_likelihood(name: str, **kwargs: Any) -> Likelihood:
    """A likelihood by short name: "gaussian", "bernoulli" or "categorical".

    Likelihoods are registered like models, so an autoencoder that uses one saves it in its
    config as ``{"type": "BernoulliLikelihood", "config": {...}}`` and rebuilds it on load.
    """
    if name not in _LIKELIHOODS:
        raise ValueError(f"unknown likelihood {name!r}; expected one of {sorted(_LIKELIHOODS)}")
    return _LIKELIHOODS[name](**kwargs)
