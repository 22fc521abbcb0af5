"""Sparse autoencoder: a reconstruction loss plus a penalty that keeps hidden units mostly off.

With more hidden units than inputs a plain autoencoder can learn the identity; a sparsity
penalty forces each unit to fire rarely, so units become specialised feature detectors
(on natural image patches: localised, oriented edges, like V1 simple cells; Olshausen &
Field 1996).

Penalties (``penalty=``):

* ``"kl"``: Ng, "Sparse autoencoder" (CS294A lecture notes, 2011), section 2.3. With
  ``p_hat_j`` the mean activation of hidden unit j over the batch and ``p`` the target
  (e.g. 0.05), the penalty is ``sum_j KL(p || p_hat_j) = sum_j [p log(p / p_hat_j) +
  (1 - p) log((1 - p) / (1 - p_hat_j))]``, >= 0 and 0 only when every ``p_hat_j == p``.
  It needs activations in (0, 1): the code layer uses a sigmoid. Ng calls the weight beta.
* ``"l1"``: an L1 activity penalty ``sum_j |a_j|`` per example, averaged over the batch
  (Goodfellow, Bengio & Courville, "Deep Learning", 2016, section 14.2.1).
* ``"none"``: a plain autoencoder of the same shape, for comparison.

The weighted penalty is reported separately as ``parts["sparsity_loss"]``; ``loss`` is
``recon_loss + sparsity_loss``. Both follow the library convention (per-example sums,
batch mean): the KL term is computed on batch statistics and added once per batch, which
is the same scale as one example's reconstruction error.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from faceswap.models.autoencoder import DenseAutoEncoder, ModelOutput
from faceswap.models.serialization import ModelError, register_model

__all__ = ["SparseAutoEncoder", "kl_sparsity", "l1_activity", "SPARSITY_PENALTIES"]

SPARSITY_PENALTIES = ("kl", "l1", "none")


def kl_sparsity(code: torch.Tensor, target: float, eps: float = 1e-6) -> torch.Tensor:
    """sum_j KL(Bernoulli(target) || Bernoulli(p_hat_j)); code: (B, H) activations in (0, 1)."""
    p_hat = code.mean(dim=0).clamp(eps, 1 - eps)
    p = torch.as_tensor(target, dtype=code.dtype, device=code.device)
    return (p * torch.log(p / p_hat) + (1 - p) * torch.log((1 - p) / (1 - p_hat))).sum()


def l1_activity(code: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_j |a_j|; code: (B, H)."""
    return code.abs().reshape(code.shape[0], -1).sum(dim=1).mean()


@register_model
class SparseAutoEncoder(DenseAutoEncoder):
    """A dense autoencoder ``sizes = [input, ..., hidden, ..., output]`` with a sparsity penalty on the code.

    ``penalty``: "kl" | "l1" | "none"; ``target``: p for the KL penalty; ``weight``: its
    multiplier (Ng's beta; for L1 the lambda). The code layer defaults to a sigmoid
    (needed by "kl"). x: (B, sizes[0]) -> recon (B, sizes[-1]); ``out.code``: (B, hidden).
    """

    def __init__(self, sizes: Sequence[int], penalty: str = "kl", target: float = 0.05, weight: float = 1.0,
                 activation: str | None = "sigmoid", output_activation: str | None = "sigmoid",
                 recon_loss: Any = "mse", code_activation: str | None = "sigmoid",
                 code_index: int | None = None):
        if penalty not in SPARSITY_PENALTIES:
            raise ModelError(f"unknown sparsity penalty {penalty!r}; choose one of {', '.join(SPARSITY_PENALTIES)}")
        if penalty == "kl" and code_activation not in ("sigmoid",) and not (
                code_activation == "same" and activation == "sigmoid"):
            raise ModelError("the KL sparsity penalty needs activations in (0, 1): use code_activation='sigmoid'")
        if not 0 < target < 1:
            raise ModelError(f"sparsity target must be in (0, 1), got {target}")
        if weight < 0:
            raise ModelError(f"sparsity weight must be >= 0, got {weight}")
        super().__init__(sizes, activation, output_activation, recon_loss, code_activation, code_index)
        self.penalty, self.target, self.weight = penalty, float(target), float(weight)
        if penalty == "kl":
            # Start the code units near the target rate: bias = logit(p). From a zero bias
            # (p_hat ~ 0.5) Adam needs ~|logit(p)| / lr steps just to move the biases there.
            code_layer = [m for m in self.encoder.modules() if isinstance(m, nn.Linear)][-1]
            with torch.no_grad():
                code_layer.bias.fill_(math.log(self.target / (1 - self.target)))
        self.config.update(penalty=penalty, target=self.target, weight=self.weight)

    def sparsity(self, code: torch.Tensor) -> torch.Tensor:
        """The unweighted penalty of a batch of codes (0 for "none")."""
        if self.penalty == "kl":
            return kl_sparsity(code, self.target)
        if self.penalty == "l1":
            return l1_activity(code)
        return code.new_zeros(())

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> ModelOutput:
        code = self.encode(x)
        params = self.decode(code)
        recon_loss = self.recon_loss(params, x if target is None else target)
        sparsity_loss = self.weight * self.sparsity(code)
        parts = {"recon_loss": recon_loss.detach(), "sparsity_loss": sparsity_loss.detach(),
                 "mean_activation": code.detach().mean()}
        return ModelOutput(loss=recon_loss + sparsity_loss, parts=parts, recon=self._mean(params), code=code)
