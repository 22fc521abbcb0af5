"""Batched face-swap augmentation in torch, on the batch's own device.

Face-swap training teaches each decoder to *undo* a distortion: the input is a
randomly warped face, the target the same face unwarped. Because the encoder is
shared and never sees a clean face, it learns a code of pose and expression
that the other identity's decoder can render (the "deepfakes" recipe).

Everything here works on a whole batch with `affine_grid`/`grid_sample`, so on
a GPU the augmentation costs a few kernels and the CPU never feeds the GPU.

Per batch, in this order:
  1. a random similarity transform (rotation, scale, shift) and a horizontal
     flip, applied to input AND target (it augments the data);
  2. the random warp, applied to the input only: a coarse `grid x grid` field
     of random displacements, smoothly upsampled (bicubic) to a dense field and
     added to the sampling grid;
  3. mild colour jitter (brightness, contrast, saturation), the same for input
     and target (the decoders should reproduce colour, not invent it).

Shapes: images (B, S, S, C) uint8 (channels last, as stored) or (B, C, S, S)
float in [0, 1]; outputs (B, C, size, size) float32 in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """Strength of each augmentation (0 turns it off)."""

    rotation: float = 10.0  # degrees, uniform in [-r, r]
    scale: float = 0.05  # relative, uniform in [-s, s]
    shift: float = 0.05  # fraction of the image, uniform in [-t, t]
    flip: float = 0.5  # probability of a horizontal flip
    warp: float = 0.04  # std of the coarse displacements, in [-1, 1] grid units
    warp_grid: int = 5  # the coarse displacement field is warp_grid x warp_grid
    brightness: float = 0.05  # additive, uniform in [-b, b]
    contrast: float = 0.05  # multiplicative around the mean, uniform in [1-c, 1+c]
    saturation: float = 0.05  # blend with grey, uniform in [1-s, 1+s]


def _uniform(n: int, amount: float, gen: torch.Generator, device) -> torch.Tensor:
    return (torch.rand(n, generator=gen, device=device) * 2 - 1) * amount


def to_float(images: torch.Tensor) -> torch.Tensor:
    """(B, S, S, C) uint8 -> (B, C, S, S) float in [0, 1]; float input passes through."""
    if images.dtype == torch.uint8:
        return images.permute(0, 3, 1, 2).float().div_(255.0)
    return images.float()


def similarity_theta(n: int, cfg: AugmentConfig, gen: torch.Generator, device) -> torch.Tensor:
    """(n, 2, 3) affine matrices (output -> input normalised coords) for `affine_grid`."""
    angle = _uniform(n, math.radians(cfg.rotation), gen, device)
    scale = 1.0 + _uniform(n, cfg.scale, gen, device)
    shift = torch.stack([_uniform(n, cfg.shift * 2, gen, device), _uniform(n, cfg.shift * 2, gen, device)], 1)
    flip = torch.where(torch.rand(n, generator=gen, device=device) < cfg.flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    return theta


def warp_field(n: int, size: int, cfg: AugmentConfig, gen: torch.Generator, device) -> torch.Tensor:
    """(n, size, size, 2) smooth random displacement field (coarse grid, bicubic upsample)."""
    coarse = torch.randn(n, 2, cfg.warp_grid, cfg.warp_grid, generator=gen, device=device) * cfg.warp
    dense = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)
    return dense.permute(0, 2, 3, 1)


def _colour(x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    bright, contrast, sat = params
    rgb = x[:, :3]
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = (rgb - mean) * contrast.view(-1, 1, 1, 1) + mean + bright.view(-1, 1, 1, 1)
    grey = (0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3])
    rgb = grey + (rgb - grey) * sat.view(-1, 1, 1, 1)
    return torch.cat([rgb.clamp_(0, 1), x[:, 3:]], 1)


def augment(
    images: torch.Tensor,
    size: int,
    generator: torch.Generator,
    cfg: AugmentConfig | None = None,
    extra: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make (distorted input, clean target) from a batch of faces.

    images: (B, S, S, 3) uint8 or (B, 3, S, S) float in [0, 1], on any device.
    size: output side (faces are resampled to it; S may differ from size).
    generator: a torch.Generator on images.device; the same seed gives the same batch.
    extra: optional (B, k, S, S) float channels (e.g. a mask) that follow the
        similarity transform and are appended to the TARGET only.
    Returns input (B, 3, size, size) and target (B, 3 [+k], size, size), float32 in [0, 1].
    """
    cfg = cfg or AugmentConfig()
    device = images.device
    x = to_float(images)
    if extra is not None:
        x = torch.cat([x, extra.to(device=device, dtype=x.dtype)], 1)
    n, c = x.shape[:2]
    if x.shape[-1] > size:  # downsample once with area averaging: no aliasing in grid_sample
        x = F.interpolate(x, size=(size, size), mode="area")
    theta = similarity_theta(n, cfg, generator, device)
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    target = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped_grid = grid + warp_field(n, size, cfg, generator, device) if cfg.warp > 0 else grid
    inp = F.grid_sample(x[:, :3], warped_grid, mode="bilinear", padding_mode="border", align_corners=False)
    jitter = (
        _uniform(n, cfg.brightness, generator, device),
        1.0 + _uniform(n, cfg.contrast, generator, device),
        1.0 + _uniform(n, cfg.saturation, generator, device),
    )
    return _colour(inp, jitter).clamp_(0, 1), _colour(target, jitter).clamp_(0, 1)
