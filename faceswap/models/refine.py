"""A detail upsampler: a small super-resolution network for one person's face.

An autoencoder at 64 px draws the right face but with no more detail than 64
px hold, and a tight bottleneck blurs even that. Pasted over a 280 px face in
the frame it looks smeared. ``DetailUpsampler`` maps such a low-resolution
face to ``scale`` times its size: a bicubic upscale plus a learned residual
(the residual learns only what bicubic misses: eye lines, lip edges, teeth,
skin texture), as in VDSR (Kim et al., CVPR 2016). The work runs at the low
resolution and the upscaling is a sub-pixel convolution (ESPCN, Shi et al.
2016) with ICNR initialisation, so it is cheap on a CPU and starts free of
checkerboard artefacts.

Trained on one person's faces (input: what the swap model makes of them,
target: their real high-resolution crops) it learns that person's detail and
so also pulls a swapped face further toward them.

    x: (B, 3, r, r) in [0, 1]  ->  (B, 3, scale*r, scale*r), unclamped (clamp for display)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.blocks import PixelShuffleUpsample
from faceswap.models.serialization import ModelError, register_model


def highpass(x: torch.Tensor) -> torch.Tensor:
    """x minus a 5x5 binomial blur of it: the fine detail that makes a face look sharp."""
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device, dtype=x.dtype) / 16
    k2 = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 5, 5)
    return x - F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k2, groups=x.shape[1])


@dataclass
class DetailConfig:
    scale: int = 4          # a power of two: 2 or 4
    channels: int = 48
    blocks: int = 4         # 3x3 conv layers at the input resolution

    def validate(self) -> "DetailConfig":
        if self.scale not in (2, 4):
            raise ModelError(f"DetailConfig.scale must be 2 or 4, got {self.scale!r}")
        for name in ("channels", "blocks"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ModelError(f"DetailConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        return self


@register_model
class DetailUpsampler(nn.Module):
    """Bicubic upscale plus a learned residual (see module docstring)."""

    def __init__(self, config: DetailConfig | dict | None = None):
        super().__init__()
        if isinstance(config, dict):
            unknown = set(config) - {f.name for f in fields(DetailConfig)}
            if unknown:
                raise ModelError(f"DetailConfig: unknown field(s) {', '.join(sorted(unknown))}")
            config = DetailConfig(**config)
        cfg = (config or DetailConfig()).validate()
        self.config = asdict(cfg)
        self.scale = cfg.scale
        c = cfg.channels
        body: list[nn.Module] = [nn.Conv2d(3, c, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(cfg.blocks - 1):
            body += [nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(0.1)]
        self.body = nn.Sequential(*body)
        # each doubling halves the channels: the work stays at the low resolution
        ups, cin = [], c
        for _ in range({2: 1, 4: 2}[cfg.scale]):
            ups.append(PixelShuffleUpsample(cin, max(cin // 2, 8), 2))
            cin = max(cin // 2, 8)
        self.up = nn.Sequential(*ups)
        self.out = nn.Conv2d(cin, 3, 3, padding=1)
        # start as plain bicubic: the residual begins at zero
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @classmethod
    def from_config(cls, config: dict) -> "DetailUpsampler":
        return cls(config)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> ModelOutput:
        """Upscale ``x``. With ``target`` (B, 3, scale*r, scale*r) the loss is the per-pixel
        mean L1 plus the mean L1 of the high-pass images (edges weigh as much as flat
        skin; plain L1 is content to leave fine detail soft)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ModelError(f"expected images of shape (B, 3, r, r), got {tuple(x.shape)}")
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        y = base + self.out(self.up(self.body(x)))
        loss = y.new_zeros(())
        parts = {}
        if target is not None:
            l1 = (y - target).abs().mean()
            hp = (highpass(y) - highpass(target)).abs().mean()
            loss = l1 + hp
            parts = {"recon_loss": l1.detach(), "detail_loss": hp.detach()}
        return ModelOutput(loss=loss, parts=parts, recon=y)

    @torch.no_grad()
    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, r, r) in [0, 1] -> (B, 3, scale*r, scale*r) clamped to [0, 1]."""
        return self(x).recon.clamp(0, 1)
