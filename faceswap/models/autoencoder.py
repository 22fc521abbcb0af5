"""The autoencoder: encode, decode, and a forward pass that returns its own loss.

Every model in ``faceswap.models`` returns a ``ModelOutput`` from ``forward``:
the scalar ``loss`` that the fit loop backpropagates, and its named ``parts``
for logging (the pythae pattern). A plain autoencoder (Rumelhart, Hinton &
Williams 1986; Hinton & Salakhutdinov, Science 2006) minimises a
reconstruction loss only.

Reduction convention (every library loss follows it; see ``reduce_loss``):
**SUM over the data dimensions, MEAN over the batch.** A loss is then the
negative log-likelihood of one example (up to constants), so terms such as a
KL divergence or a sparsity penalty add on the same scale whatever the image
size, and the value does not change with the batch size.

Reconstruction losses, by name (or pass any object with ``nll(params, x) ->
(B,)`` per-sample values, optionally ``mean(params) -> recon``):

* ``"mse"``: sum of squared errors (Gaussian NLL with unit variance, up to 1/2 and a constant).
* ``"l1"``: sum of absolute errors (Laplace NLL, up to a constant).
* ``"bce"``: Bernoulli cross-entropy on *probabilities*: the decoder ends with
  a sigmoid; values are clamped to [1e-7, 1 - 1e-7] for safety.
* ``"bce_logits"``: the same on *logits*: the decoder has no output sigmoid,
  the loss uses the numerically stable ``binary_cross_entropy_with_logits`` and
  ``recon`` is ``sigmoid(logits)``. Prefer it for training from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models.blocks import UPSAMPLE_KINDS, conv_block, get_activation, mlp, upsample_block
from faceswap.models.serialization import ModelError, build_from_config, register_model, to_spec


@dataclass
class ModelOutput:
    """What every model's ``forward`` returns.

    loss:  scalar tensor; the fit loop calls ``loss.backward()``.
    parts: named terms of the loss, e.g. {"recon_loss": ..., "reg_loss": ...} (scalars).
    recon: the reconstruction, same shape as the input (or None).
    code:  the latent code (or None).
    extra: anything else, e.g. {"mask": (B, 1, H, W)}.
    """

    loss: torch.Tensor
    parts: dict[str, torch.Tensor]
    recon: torch.Tensor | None = None
    code: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def per_sample(values: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first: (B, ...) -> (B,)."""
    return values.reshape(values.shape[0], -1).sum(dim=1) if values.dim() > 1 else values


def reduce_loss(values: torch.Tensor) -> torch.Tensor:
    """The library's reduction: SUM over data dimensions, MEAN over the batch.

    values: (B, ...) element-wise terms, or (B,) per-sample terms -> scalar.
    E.g. squared errors of shape (B, 3, 64, 64) give the mean over the batch of
    each image's total squared error (12288 terms each).
    """
    if values.dim() == 0:
        return values
    return per_sample(values).mean()


class _ElementwiseLoss:
    """Base for the named reconstruction losses; ``nll`` gives per-sample values (B,)."""

    name = ""

    def elementwise(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def nll(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """params, x: (B, ...) -> (B,) summed over the data dimensions."""
        return per_sample(self.elementwise(params, x))

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The reconstruction implied by the decoder output."""
        return params

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SquaredError(_ElementwiseLoss):
    name = "mse"

    def elementwise(self, params, x):
        return (params - x).pow(2)


class AbsoluteError(_ElementwiseLoss):
    name = "l1"

    def elementwise(self, params, x):
        return (params - x).abs()


class BernoulliCrossEntropy(_ElementwiseLoss):
    """Binary cross-entropy; ``logits=False`` expects probabilities in (0, 1)."""

    def __init__(self, logits: bool = False):
        self.logits = logits
        self.name = "bce_logits" if logits else "bce"

    def elementwise(self, params, x):
        if self.logits:
            return F.binary_cross_entropy_with_logits(params, x, reduction="none")
        p = params.clamp(1e-7, 1 - 1e-7)
        return F.binary_cross_entropy(p, x, reduction="none")

    def mean(self, params):
        return torch.sigmoid(params) if self.logits else params


RECON_LOSSES = {
    "mse": SquaredError,
    "l1": AbsoluteError,
    "bce": lambda: BernoulliCrossEntropy(logits=False),
    "bce_logits": lambda: BernoulliCrossEntropy(logits=True),
}


def make_recon_loss(spec: Any) -> Any:
    """A loss object from a name, a ``{"type", "config"}`` spec of a registered likelihood, or an object."""
    if isinstance(spec, str):
        if spec not in RECON_LOSSES:
            raise ModelError(f"unknown recon_loss {spec!r}; choose one of {', '.join(RECON_LOSSES)} or pass a likelihood object")
        return RECON_LOSSES[spec]()
    if isinstance(spec, dict):
        return build_from_config(spec.get("type"), spec.get("config", {}), where="recon_loss")
    if not callable(getattr(spec, "nll", None)):
        raise ModelError(f"recon_loss must be a name or an object with nll(params, x); got {type(spec).__name__}")
    return spec


class UnsaveableLoss:
    """Stands in the config for an unregistered recon_loss object: the model trains, but
    ``save_model`` refuses it (not JSON-able) instead of writing a config that cannot load."""

    def __init__(self, obj: Any):
        self.name = type(obj).__name__

    def __repr__(self) -> str:
        return f"<unregistered recon_loss {self.name}: decorate its class with @register_model to save>"


def _loss_config(spec: Any) -> Any:
    """JSON form of a recon_loss argument: the name, or a registered object's spec."""
    if isinstance(spec, (str, dict)):
        return spec
    try:
        return to_spec(spec)
    except ModelError:
        return UnsaveableLoss(spec)


class AutoEncoder(nn.Module):
    """x -> encoder -> code -> decoder -> params; loss = recon_loss.nll(params, target), batch mean.

    ``encoder``/``decoder`` are any modules. ``decode`` returns the decoder's
    raw output (the likelihood's parameters, e.g. logits for ``"bce_logits"``);
    ``reconstruct`` and ``ModelOutput.recon`` give the mean reconstruction.
    Subclasses built by ``dense_autoencoder`` / ``conv_autoencoder`` are
    registered and carry a ``.config``, so ``save_model`` / ``load_model`` work.
    A likelihood that is an ``nn.Module`` (e.g. with a learned scale) is a
    submodule: its parameters train and save with the model.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, recon_loss: Any = "mse"):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = make_recon_loss(recon_loss)
        self._recon_loss_spec = recon_loss

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self._mean(self.decode(self.encode(x)))

    def _mean(self, params: torch.Tensor) -> torch.Tensor:
        mean = getattr(self.likelihood, "mean", None)
        return mean(params) if callable(mean) else params

    def recon_loss(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample NLL averaged over the batch (the reduction convention)."""
        return self.likelihood.nll(params, target).mean()

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> ModelOutput:
        """x: (B, ...) input; target: what to reconstruct (default x, e.g. the clean image for denoising)."""
        code = self.encode(x)
        params = self.decode(code)
        loss = self.recon_loss(params, x if target is None else target)
        return ModelOutput(loss=loss, parts={"recon_loss": loss.detach()}, recon=self._mean(params), code=code)


def _check_sizes(sizes: Any, what: str) -> list[int]:
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be a list of positive integers, got {sizes!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise ModelError(f"{what} must be a non-empty list of positive integers, got {sizes}")
    return sizes


@register_model
class DenseAutoEncoder(AutoEncoder):
    """Fully connected autoencoder.

    ``sizes``: the whole chain ``[input, hidden..., code, hidden..., output]``;
    the code is at ``code_index`` (default: the middle, so ``sizes`` has odd
    length, e.g. ``[8, 3, 8]`` for Mitchell's 8-3-8 encoder or
    ``[4, 6, 4, 2, 4, 6, 4]``). ``activation`` follows every hidden layer,
    ``code_activation`` the code layer ("same" = ``activation``, None = linear),
    ``output_activation`` the last layer. x: (B, sizes[0]) -> recon (B, sizes[-1]).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | None = "relu",
        output_activation: str | None = None,
        recon_loss: Any = "mse",
        code_activation: str | None = "same",
        code_index: int | None = None,
    ):
        sizes = _check_sizes(sizes, "sizes")
        if code_index is None:
            if len(sizes) < 3 or len(sizes) % 2 == 0:
                raise ModelError(f"sizes {sizes}: give an odd-length chain input..code..output (e.g. [8, 3, 8]) or code_index")
            code_index = len(sizes) // 2
        if not 0 < code_index < len(sizes) - 1:
            raise ModelError(f"code_index {code_index} must point inside sizes {sizes}")
        code_act = activation if code_activation == "same" else code_activation
        get_activation(activation), get_activation(output_activation), get_activation(code_act)  # validate names
        super().__init__(
            mlp(sizes[: code_index + 1], activation, code_act),
            mlp(sizes[code_index:], activation, output_activation),
            recon_loss,
        )
        self.config = {
            "sizes": sizes,
            "activation": activation,
            "output_activation": output_activation,
            "recon_loss": _loss_config(recon_loss),
            "code_activation": code_activation,
            "code_index": code_index,
        }

    @classmethod
    def from_config(cls, config: dict) -> "DenseAutoEncoder":
        return cls(**config)


@register_model
class ConvAutoEncoder(AutoEncoder):
    """Convolutional autoencoder: stride-2 conv blocks down, upsample blocks up.

    ``channels`` (e.g. ``(32, 64)``): one 2x downsampling ``conv_block`` each.
    With ``latent_dim`` the feature map is flattened to a dense code of that
    size (needs ``resolution`` divisible by ``2 ** len(channels)``); without it
    the code is the feature map (B, channels[-1], H / 2**n, W / 2**n).
    ``upsample``: "upsample" | "pixel_shuffle" | "transpose" (see blocks).
    x: (B, in_channels, H, W) -> recon (B, in_channels, H, W).
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64),
        latent_dim: int | None = None,
        resolution: int | None = None,
        kernel_size: int = 3,
        upsample: str = "upsample",
        output_activation: str | None = "sigmoid",
        recon_loss: Any = "mse",
    ):
        channels = _check_sizes(channels, "channels")
        if upsample not in UPSAMPLE_KINDS:
            raise ModelError(f"unknown upsample kind {upsample!r}; choose one of {', '.join(UPSAMPLE_KINDS)}")
        factor = 2 ** len(channels)
        if resolution is not None and (int(resolution) < factor or int(resolution) % factor):
            raise ModelError(f"resolution {resolution} must be a positive multiple of {factor} (2 ** len(channels))")
        if latent_dim is not None and resolution is None:
            raise ModelError("latent_dim needs resolution (the input size) to size the dense layer")
        enc: list[nn.Module] = []
        cin = in_channels
        for c in channels:
            enc.append(conv_block(cin, c, kernel_size, stride=2))
            cin = c
        dec: list[nn.Module] = []
        if latent_dim is not None:
            s = int(resolution) // factor
            flat = channels[-1] * s * s
            enc += [nn.Flatten(), nn.Linear(flat, int(latent_dim))]
            dec += [nn.Linear(int(latent_dim), flat), nn.LeakyReLU(0.1), nn.Unflatten(1, (channels[-1], s, s))]
        rev = channels[::-1]
        for a, b in zip(rev, rev[1:] + rev[-1:]):
            dec.append(upsample_block(upsample, a, b))
        dec += [nn.Conv2d(rev[-1], in_channels, kernel_size, padding=kernel_size // 2), get_activation(output_activation)]
        super().__init__(nn.Sequential(*enc), nn.Sequential(*dec), recon_loss)
        self.config = {
            "in_channels": in_channels,
            "channels": channels,
            "latent_dim": latent_dim,
            "resolution": resolution,
            "kernel_size": kernel_size,
            "upsample": upsample,
            "output_activation": output_activation,
            "recon_loss": _loss_config(recon_loss),
        }

    @classmethod
    def from_config(cls, config: dict) -> "ConvAutoEncoder":
        return cls(**config)


def dense_autoencoder(sizes: Sequence[int], activation: str | None = "relu", output_activation: str | None = None, **kwargs) -> DenseAutoEncoder:
    """Build a ``DenseAutoEncoder`` (saveable); see its docstring for the arguments."""
    return DenseAutoEncoder(sizes, activation, output_activation, **kwargs)


def conv_autoencoder(in_channels: int = 3, channels: Sequence[int] = (32, 64), **kwargs) -> ConvAutoEncoder:
    """Build a ``ConvAutoEncoder`` (saveable); see its docstring for the arguments."""
    return ConvAutoEncoder(in_channels, channels, **kwargs)
