"""Building blocks shared by the autoencoders: convolutions, upsampling, residual blocks, MLPs.

Upsampling is explicit (DESIGN lesson 5):

* ``UpsampleConv``: nearest-neighbour resize then a convolution. Every output
  pixel sees the same kernel, so there is no checkerboard pattern
  (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).
* ``PixelShuffleUpsample``: a convolution to ``cout * r**2`` channels then a
  sub-pixel shuffle (Shi et al., "Real-Time Single Image and Video
  Super-Resolution Using an Efficient Sub-Pixel CNN", CVPR 2016), initialised
  with ICNR (Aitken et al., "Checkerboard artifact free sub-pixel convolution",
  arXiv:1707.02937, 2017) so that at initialisation it *is* nearest-neighbour
  upsampling of an ordinary convolution. This is the classic deepfakes upscaler.
* ``"transpose"``: a transposed convolution (kernel 2r, stride r): offered only
  as an option, it is prone to checkerboard artefacts.

Activation names accepted everywhere: ``relu``, ``leaky_relu`` (slope 0.1 as in
the deepfakes models), ``sigmoid``, ``tanh``, ``gelu``, ``elu``, ``silu``,
``softplus``, ``identity``/``linear``/None.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models.serialization import ModelError

UPSAMPLE_KINDS = ("upsample", "pixel_shuffle", "transpose")

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
    "linear": nn.Identity,
}


def get_activation(name: str | None) -> nn.Module:
    """A fresh activation module by name (None -> identity); ModelError on an unknown name."""
    if name is None:
        return nn.Identity()
    try:
        return _ACTIVATIONS[name.lower()]()
    except (KeyError, AttributeError):
        raise ModelError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}") from None


def conv_block(cin: int, cout: int, kernel_size: int = 5, stride: int = 2, act: str | None = "leaky_relu") -> nn.Sequential:
    """Conv2d ("same" padding) + LeakyReLU(0.1): the deepfakes encoder step.

    x: (B, cin, H, W) -> (B, cout, H / stride, W / stride) for H, W divisible by stride.
    """
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding=kernel_size // 2), get_activation(act))


def icnr_(weight: torch.Tensor, scale: int = 2, init: Callable[[torch.Tensor], object] | None = None) -> torch.Tensor:
    """ICNR initialisation, in place (Aitken et al. 2017).

    ``weight``: (cout * scale**2, cin, k, k), the conv before ``PixelShuffle(scale)``.
    A base kernel (cout, cin, k, k) is drawn with ``init`` (default Kaiming
    uniform, as ``nn.Conv2d`` uses) and each base output channel is repeated
    ``scale**2`` times. ``PixelShuffle`` sends channel ``c * r**2 + i`` to
    sub-pixel ``i`` of output channel ``c``, so all ``r x r`` sub-pixels get
    the same value: conv + shuffle == nearest upsample of the base conv output.
    """
    rr = scale * scale
    if weight.shape[0] % rr:
        raise ModelError(f"ICNR: {weight.shape[0]} output channels is not a multiple of scale**2 = {rr}")
    base = torch.empty((weight.shape[0] // rr, *weight.shape[1:]), dtype=weight.dtype, device=weight.device)
    (init or (lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5))))(base)
    with torch.no_grad():
        weight.copy_(base.repeat_interleave(rr, dim=0))
    return weight


class PixelShuffleUpsample(nn.Module):
    """Conv to ``cout * scale**2`` channels, LeakyReLU(0.1), pixel shuffle (Shi et al. 2016), ICNR-initialised.

    x: (B, cin, H, W) -> (B, cout, H * scale, W * scale). The activation is
    applied before the shuffle (they commute: both are per-element moves/maps).
    """

    def __init__(self, cin: int, cout: int, scale: int = 2, kernel_size: int = 3, act: str | None = "leaky_relu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * scale * scale, kernel_size, padding=kernel_size // 2)
        self.act = get_activation(act)
        self.shuffle = nn.PixelShuffle(scale)
        icnr_(self.conv.weight, scale)
        with torch.no_grad():  # bias repeated the same way keeps the sub-pixels equal
            b = self.conv.bias.view(cout, scale * scale)
            b.copy_(b[:, :1].expand_as(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


class UpsampleConv(nn.Module):
    """Nearest-neighbour upsample, then conv ("same" padding) + activation.

    x: (B, cin, H, W) -> (B, cout, H * scale, W * scale). Checkerboard-free by
    construction (Odena et al. 2016), cheaper in parameters than pixel shuffle.
    """

    def __init__(self, cin: int, cout: int, scale: int = 2, kernel_size: int = 3, act: str | None = "leaky_relu"):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2)
        self.act = get_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest")))


def transpose_upsample(cin: int, cout: int, scale: int = 2, act: str | None = "leaky_relu") -> nn.Sequential:
    """ConvTranspose2d (stride scale) + activation: (B, cin, H, W) -> (B, cout, H*scale, W*scale)."""
    # out = (H - 1) * s - 2p + k = H * s when k = 2s, p = s / 2 (even s), or k = s, p = 0 (odd s)
    k, p = (2 * scale, scale // 2) if scale % 2 == 0 else (scale, 0)
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel_size=k, stride=scale, padding=p), get_activation(act))


def upsample_block(kind: str, cin: int, cout: int, scale: int = 2, kernel_size: int = 3, act: str | None = "leaky_relu") -> nn.Module:
    """Factory: ``kind`` in ``"upsample"``, ``"pixel_shuffle"``, ``"transpose"``.

    x: (B, cin, H, W) -> (B, cout, H * scale, W * scale).
    """
    if kind == "upsample":
        return UpsampleConv(cin, cout, scale, kernel_size, act)
    if kind == "pixel_shuffle":
        return PixelShuffleUpsample(cin, cout, scale, kernel_size, act)
    if kind == "transpose":
        return transpose_upsample(cin, cout, scale, act)
    raise ModelError(f"unknown upsample kind {kind!r}; choose one of {', '.join(UPSAMPLE_KINDS)}")


class ResidualBlock(nn.Module):
    """x + conv(lrelu(conv(x))), then LeakyReLU(0.1) (He et al., "Deep Residual Learning", CVPR 2016).

    x: (B, C, H, W) -> (B, C, H, W). The second conv starts at zero so that the
    block is the identity map (then a LeakyReLU) at initialisation.
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv2d(channels, channels, kernel_size, padding=pad)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size, padding=pad)
        self.act = nn.LeakyReLU(0.1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


def mlp(sizes: Sequence[int], activation: str | None = "relu", final_activation: str | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    ``activation`` follows every hidden layer, ``final_activation`` the
    last one. x: (B, sizes[0]) -> (B, sizes[-1]).
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ModelError(f"mlp sizes must be at least two positive integers, got {sizes}")
    get_activation(activation), get_activation(final_activation)  # fail early on a bad name
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        last = i == len(sizes) - 2
        act = get_activation(final_activation if last else activation)
        if not isinstance(act, nn.Identity):
            layers.append(act)
    return nn.Sequential(*layers)
