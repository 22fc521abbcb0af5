"""Variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014).

The encoder gives q(z | x) = N(mu(x), diag(sigma^2(x))); the decoder parameterises
p(x | z) through a likelihood object (``faceswap.models.likelihoods``); the prior is
p(z) = N(0, I). Training maximises the evidence lower bound

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z))  <=  log p(x)

with one reparameterised sample z = mu + sigma * eps, eps ~ N(0, I), so gradients flow
through the sampling. ``loss = mean_batch(recon_nll + beta * kl)``, i.e. -ELBO for beta = 1.

KL sign: ``kl`` is KL(q || p) = 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2), which
is >= 0 (zero only when q equals the prior); it is ADDED to the loss (subtracted from the
ELBO). beta > 1 is the beta-VAE (Higgins et al., "beta-VAE: Learning Basic Visual Concepts
with a Constrained Variational Framework", ICLR 2017): a stronger pull towards the prior,
a smaller KL (fewer nats of information in the code) and blurrier reconstructions.

``log_likelihood(x, k)`` is the importance-sampled estimate of log p(x) of Burda, Grosse &
Salakhutdinov ("Importance Weighted Autoencoders", ICLR 2016): with z_i ~ q(z | x),
log p(x) ~= logsumexp_i [log p(x | z_i) + log p(z_i) - log q(z_i | x)] - log k, a lower
bound that tightens as k grows (k = 1 is the ELBO).

Default networks are MLPs on flattened inputs; any ``encoder`` (x -> (B, 2 * latent_dim):
mean then log-variance) and ``decoder`` (z -> (B, k * input_dim) likelihood parameters)
can be passed instead. Shapes: x (B, *image_shape) or (B, input_dim); z (B, latent_dim).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.blocks import mlp
from faceswap.models.likelihoods import get_likelihood
from faceswap.models.serialization import ModelError, build_from_config, register_model, to_spec

__all__ = ["VAE", "gaussian_kl"]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, (B, D) -> (B,); always >= 0."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def _normal_logpdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(dim=-1)


@register_model
class VAE(nn.Module):
    """Dense VAE: ``input_dim -> hidden... -> 2 * latent_dim``; ``latent_dim -> hidden... -> k * input_dim``.

    ``likelihood``: "bernoulli" (logits; for [0, 1] data), "gaussian", "categorical", a
    likelihood object, or its ``{"type", "config"}`` spec. ``image_shape`` (e.g. (1, 28, 28))
    shapes ``recon`` and ``sample``; default: the input's own shape, flat for samples.
    """

    def __init__(self, input_dim: int = 784, hidden: Sequence[int] = (256,), latent_dim: int = 8,
                 likelihood: Any = "bernoulli", beta: float = 1.0, image_shape: Sequence[int] | None = None,
                 activation: str = "relu", encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__()
        if beta < 0:
            raise ModelError(f"beta must be >= 0, got {beta}")
        if isinstance(likelihood, str):
            likelihood = get_likelihood(likelihood)
        elif isinstance(likelihood, dict):
            likelihood = build_from_config(likelihood.get("type"), likelihood.get("config", {}), where="likelihood")
        self.likelihood = likelihood
        self.input_dim, self.latent_dim, self.beta = int(input_dim), int(latent_dim), float(beta)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        if self.image_shape is not None and math.prod(self.image_shape) != self.input_dim:
            raise ModelError(f"image_shape {self.image_shape} does not hold input_dim {input_dim} values")
        hidden = [int(h) for h in hidden]
        k = likelihood.params_per_channel
        self.encoder = encoder or mlp([self.input_dim, *hidden, 2 * self.latent_dim], activation)
        self.decoder = decoder or mlp([self.latent_dim, *hidden[::-1], k * self.input_dim], activation)
        self.config = {"input_dim": self.input_dim, "hidden": hidden, "latent_dim": self.latent_dim,
                       "likelihood": to_spec(likelihood), "beta": self.beta,
                       "image_shape": list(self.image_shape) if self.image_shape else None,
                       "activation": activation, "custom_modules": encoder is not None or decoder is not None}

    @classmethod
    def from_config(cls, config: dict) -> "VAE":
        config = dict(config)
        if config.pop("custom_modules", False):
            raise ModelError("this VAE was built from custom encoder/decoder modules; build it the same way, "
                             "then load the weights with faceswap.models.serialization.load_weights")
        return cls(**config)

    # q(z | x) and p(x | z)
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (mu, logvar), each (B, latent_dim); logvar clamped to [-12, 8] for stability."""
        mu, logvar = self.encoder(x.reshape(x.shape[0], -1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z -> likelihood parameters (B, k * input_dim)."""
        return self.decoder(z)

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def _shape(self, flat: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        if like is not None:
            return flat.reshape(like.shape)
        return flat.reshape(flat.shape[0], *self.image_shape) if self.image_shape else flat

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> ModelOutput:
        """x: (B, ...) -> loss = mean(recon_nll + beta * kl); parts recon_loss, kl, elbo (beta-free)."""
        target = x if target is None else target
        mu, logvar = self.encode(x)
        z = self.reparameterise(mu, logvar)
        params = self.decode(z)
        nll = self.likelihood.nll(params, target.reshape(target.shape[0], -1))
        kl = gaussian_kl(mu, logvar)
        loss = (nll + self.beta * kl).mean()
        parts = {"recon_loss": nll.mean().detach(), "kl": kl.mean().detach(), "elbo": -(nll + kl).mean().detach()}
        return ModelOutput(loss=loss, parts=parts, recon=self._shape(self.likelihood.mean(params), target),
                           code=mu, extra={"logvar": logvar, "z": z})

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's mean at z = mu(x) (no sampling)."""
        return self._shape(self.likelihood.mean(self.decode(self.encode(x)[0])), x)

    @torch.no_grad()
    def sample(self, n: int, z: torch.Tensor | None = None, mean: bool = True) -> torch.Tensor:
        """n draws from the model: z ~ N(0, I) (or the given z), then the decoder's mean (or a sample)."""
        if z is None:
            z = torch.randn(n, self.latent_dim, device=next(self.parameters()).device)
        params = self.decode(z)
        return self._shape(self.likelihood.mean(params) if mean else self.likelihood.sample(params))

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor, k: int = 100, chunk: int = 50) -> torch.Tensor:
        """Importance-sampled log p(x) per sample (B,), in nats (Burda et al. 2016), k samples each."""
        flat = x.reshape(x.shape[0], -1)
        mu, logvar = self.encode(x)
        terms = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            z = mu.unsqueeze(0) + torch.exp(0.5 * logvar).unsqueeze(0) * torch.randn(m, *mu.shape, device=mu.device)
            params = self.decode(z.reshape(m * mu.shape[0], -1))
            log_px_z = -self.likelihood.nll(params, flat.repeat(m, 1)).reshape(m, -1)
            log_pz = _normal_logpdf(z, torch.zeros_like(z), torch.zeros_like(z))
            log_qz = _normal_logpdf(z, mu.unsqueeze(0), logvar.unsqueeze(0))
            terms.append(log_px_z + log_pz - log_qz)
        return torch.logsumexp(torch.cat(terms), dim=0) - math.log(k)
