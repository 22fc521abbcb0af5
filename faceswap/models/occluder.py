"""An occlusion segmenter: which pixels of an aligned face crop are covered.

A swap paints the new face over the whole face region, so whatever stands in
front of the old face (a hand, a microphone, a glasses rim, a strand of hair)
vanishes under it. ``Occluder`` gives, per pixel of an aligned face crop, the
probability that the face is covered there by something that is not the face;
the mouth's interior, teeth, eyes and beards are face. Convert keeps the
original pixels where it says so.

It is a small U-Net (Ronneberger, Fischer & Brox, MICCAI 2015) at a low
resolution (64 px by default): three stride-2 stages down, three
upsample+conv stages back with skip connections, one logit per pixel. It
costs a few milliseconds per face on one CPU thread, so it fits in convert's
per-frame budget. Trained on synthetic cover pasted over real faces, random
textured shapes and naturalistic ones, as Voo, Jiang & Loy ("Delving into
High-Quality Synthetic Face Occlusion Segmentation Datasets", CVPRW 2022)
show holds on real, unseen occlusions.

    x: (B, 3, r, r) in [0, 1]  ->  logits (B, 1, r, r); ``probability`` -> (B, 1, r, r) in [0, 1]

Loss (with ``target`` (B, 1, r, r) in [0, 1], the cover's alpha): per-pixel
binary cross-entropy, mean over pixels and batch, plus a soft Dice term on the
cover (1 - 2|P.T| / (|P| + |T|), per image, mean over the batch; an image
without cover adds nothing) so that small occluders weigh as much as large
ones. ``weight`` (B, 1, r, r) optionally weighs the pixels of both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.serialization import ModelError, register_model


@dataclass
class OccluderConfig:
    resolution: int = 64                 # side of the input crop; a multiple of 2**len(channels - 1)
    channels: tuple[int, ...] = (16, 24, 32, 48)  # per level, finest first

    def validate(self) -> "OccluderConfig":
        self.channels = tuple(self.channels)
        if len(self.channels) < 2 or not all(isinstance(c, int) and c > 0 for c in self.channels):
            raise ModelError(f"OccluderConfig.channels must be two or more positive integers, got {self.channels!r}")
        step = 2 ** (len(self.channels) - 1)
        if not isinstance(self.resolution, int) or self.resolution < step or self.resolution % step:
            raise ModelError(f"OccluderConfig.resolution must be a positive multiple of {step}, got {self.resolution!r}")
        return self


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@register_model
class Occluder(nn.Module):
    """Tiny U-Net giving the probability that each crop pixel is covered (see module docstring)."""

    def __init__(self, config: OccluderConfig | dict | None = None):
        super().__init__()
        if isinstance(config, dict):
            unknown = set(config) - {f.name for f in fields(OccluderConfig)}
            if unknown:
                raise ModelError(f"OccluderConfig: unknown field(s) {', '.join(sorted(unknown))}")
            config = OccluderConfig(**config)
        cfg = (config or OccluderConfig()).validate()
        self.config = {**asdict(cfg), "channels": list(cfg.channels)}
        self.resolution = cfg.resolution
        ch = cfg.channels
        self.down = nn.ModuleList([_double_conv(3, ch[0])] +
                                  [_double_conv(ch[i - 1], ch[i]) for i in range(1, len(ch))])
        # upsample + conv (no transposed convolution: no checkerboard), then merge the skip
        self.up = nn.ModuleList([nn.Conv2d(ch[i], ch[i - 1], 1) for i in range(len(ch) - 1, 0, -1)])
        self.merge = nn.ModuleList([_double_conv(2 * ch[i - 1], ch[i - 1]) for i in range(len(ch) - 1, 0, -1)])
        self.head = nn.Conv2d(ch[0], 1, 1)
        # start by calling nothing covered (most of every face is not): a prior of about 5 % cover
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, -3.0)

    @classmethod
    def from_config(cls, config: dict) -> "Occluder":
        return cls(config)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, r, r) in [0, 1] -> (B, 1, r, r) logits of cover."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[-1] % (2 ** (len(self.down) - 1)) or x.shape[-2] != x.shape[-1]:
            raise ModelError(f"expected square crops (B, 3, r, r) with r a multiple of "
                             f"{2 ** (len(self.down) - 1)}, got {tuple(x.shape)}")
        h = x * 2 - 1
        skips = []
        for i, block in enumerate(self.down):
            h = block(h if i == 0 else F.max_pool2d(h, 2))
            skips.append(h)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            h = up(F.interpolate(h, scale_factor=2, mode="nearest"))
            h = merge(torch.cat([h, skip], 1))
        return self.head(h)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None,
                weight: torch.Tensor | None = None) -> ModelOutput:
        """Logits and, with ``target``, the loss (BCE + soft Dice; module docstring)."""
        z = self.logits(x)
        loss, parts = z.new_zeros(()), {}
        if target is not None:
            if target.shape != z.shape:
                raise ModelError(f"target must be {tuple(z.shape)}, got {tuple(target.shape)}")
            w = torch.ones_like(z) if weight is None else weight
            bce = (F.binary_cross_entropy_with_logits(z, target, reduction="none") * w).mean()
            p = torch.sigmoid(z) * w
            t = target * w
            inter = (p * t).flatten(1).sum(1)
            denom = (p + t).flatten(1).sum(1)
            has_cover = t.flatten(1).sum(1) > 1.0
            dice = torch.where(has_cover, 1 - 2 * inter / denom.clamp_min(1e-6), torch.zeros_like(inter)).mean()
            loss = bce + dice
            parts = {"bce_loss": bce.detach(), "dice_loss": dice.detach()}
        return ModelOutput(loss=loss, parts=parts, recon=None, extra={"logits": z})

    @torch.no_grad()
    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, r, r) in [0, 1] -> (B, 1, r, r) probability that the face is covered."""
        return torch.sigmoid(self.logits(x))
