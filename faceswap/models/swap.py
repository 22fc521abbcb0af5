"""The face-swap autoencoder: one shared encoder, one decoder per identity.

The trick of the 2017 "deepfakes" model: train a single encoder on faces of
both people and a separate decoder for each, each decoder reconstructing its
own person. The shared encoder learns an identity-neutral code (pose,
expression, lighting); decoding A's code with B's decoder draws B's face with
A's pose. With the default ``SwapConfig`` this is the classic "original" 64 px
model (about 82 M parameters):

    encoder  (B,3,64,64) -> 4 x [5x5 conv stride 2 + LeakyReLU(0.1)]: 128, 256, 512, 1024 ch -> (B,1024,4,4)
             -> flatten -> dense 1024 (the code) -> dense 4*4*1024 -> (B,1024,4,4)
             -> upscale to 512 ch at 8x8                                 (shared by all identities)
    decoder  upscale 256 (16), 128 (32), 64 (64) -> 5x5 conv to 3 (+1 mask) -> sigmoid

"upscale" is a pixel shuffle with ICNR init by default (see blocks). The mask
channel (``mask=True``) lets the converter blend only the predicted face area.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.blocks import UPSAMPLE_KINDS, ResidualBlock, conv_block, upsample_block
from faceswap.models.serialization import ModelError, register_model


@dataclass
class SwapConfig:
    """Constructor arguments of ``SwapAutoEncoder`` (JSON-able; tuples become lists in JSON).

    resolution must be a multiple of 16 (four stride-2 convs); the shared part
    ends at resolution/8 with ``bottleneck_channels``; each decoder upsamples
    ``len(decoder_channels)`` times, so ``len(decoder_channels)`` must be 3.
    """

    resolution: int = 64
    identities: tuple[str, ...] = ("a", "b")
    encoder_channels: tuple[int, ...] = (128, 256, 512, 1024)
    kernel_size: int = 5
    latent_dim: int = 1024
    bottleneck_channels: int = 512
    decoder_channels: tuple[int, ...] = (256, 128, 64)
    upsample: str = "pixel_shuffle"
    residual_blocks: int = 0
    mask: bool = False

    def validate(self) -> "SwapConfig":
        """Normalise types and raise ModelError naming the bad field."""
        self.identities = tuple(self.identities) if not isinstance(self.identities, str) else (self.identities,)
        self.encoder_channels = tuple(int(c) for c in self.encoder_channels)
        self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
        if not self.identities:
            raise ModelError("SwapConfig.identities is empty; give at least one identity name (usually two)")
        if any(not isinstance(i, str) or not i for i in self.identities):
            raise ModelError(f"SwapConfig.identities must be non-empty strings, got {list(self.identities)}")
        if len(set(self.identities)) != len(self.identities):
            raise ModelError(f"SwapConfig.identities has duplicates: {list(self.identities)}")
        if not isinstance(self.resolution, int) or self.resolution < 16 or self.resolution % 16:
            raise ModelError(f"SwapConfig.resolution {self.resolution} must be a positive multiple of 16 (e.g. 64, 128)")
        if len(self.encoder_channels) != 4:
            raise ModelError(f"SwapConfig.encoder_channels needs 4 entries (4 stride-2 convs), got {list(self.encoder_channels)}")
        if len(self.decoder_channels) != 3:
            raise ModelError(f"SwapConfig.decoder_channels needs 3 entries (res/8 -> res), got {list(self.decoder_channels)}")
        for name in ("latent_dim", "bottleneck_channels", "kernel_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ModelError(f"SwapConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        if min(self.encoder_channels + self.decoder_channels) < 1:
            raise ModelError("SwapConfig channel counts must be positive")
        if self.upsample not in UPSAMPLE_KINDS:
            raise ModelError(f"SwapConfig.upsample {self.upsample!r} unknown; choose one of {', '.join(UPSAMPLE_KINDS)}")
        if not isinstance(self.residual_blocks, int) or self.residual_blocks < 0:
            raise ModelError(f"SwapConfig.residual_blocks must be >= 0, got {self.residual_blocks!r}")
        self.mask = bool(self.mask)
        return self

    @classmethod
    def from_dict(cls, data: dict) -> "SwapConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"SwapConfig: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


class _SwapDecoder(nn.Module):
    """(B, bottleneck, res/8, res/8) -> (B, 3 or 4, res, res) logits."""

    def __init__(self, cfg: SwapConfig):
        super().__init__()
        layers: list[nn.Module] = []
        cin = cfg.bottleneck_channels
        for c in cfg.decoder_channels:
            layers.append(upsample_block(cfg.upsample, cin, c))
            layers += [ResidualBlock(c) for _ in range(cfg.residual_blocks)]
            cin = c
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, 4 if cfg.mask else 3, cfg.kernel_size, padding=cfg.kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


@register_model
class SwapAutoEncoder(nn.Module):
    """Shared encoder, one decoder per identity (``decoders[name]``).

    encode(x): (B, 3, res, res) in [0, 1] -> code (B, bottleneck, res/8, res/8)
    decode(code, identity) -> face (B, 3, res, res) in [0, 1], mask (B, 1, res, res) in [0, 1] or None
    """

    def __init__(self, config: SwapConfig | dict | None = None):
        super().__init__()
        if config is None:
            cfg = SwapConfig()
        elif isinstance(config, SwapConfig):
            cfg = SwapConfig.from_dict(config.to_dict())
        elif isinstance(config, dict):
            cfg = SwapConfig.from_dict(config)
        else:
            raise ModelError(f"SwapAutoEncoder config must be a SwapConfig or dict, got {type(config).__name__}")
        cfg.validate()
        self.swap_config = cfg
        self.config: dict = cfg.to_dict()
        self.identities: list[str] = list(cfg.identities)
        self.resolution: int = cfg.resolution
        self.has_mask: bool = cfg.mask

        s = cfg.resolution // 16
        ch = cfg.encoder_channels
        convs = [conv_block(cin, cout, cfg.kernel_size, 2) for cin, cout in zip((3,) + ch[:-1], ch)]
        self.encoder = nn.Sequential(
            *convs,
            nn.Flatten(),
            nn.Linear(ch[-1] * s * s, cfg.latent_dim),
            nn.Linear(cfg.latent_dim, ch[-1] * s * s),
            nn.Unflatten(1, (ch[-1], s, s)),
            upsample_block(cfg.upsample, ch[-1], cfg.bottleneck_channels),
        )
        self.decoders = nn.ModuleDict({name: _SwapDecoder(cfg) for name in self.identities})

    @classmethod
    def from_config(cls, config: dict) -> "SwapAutoEncoder":
        return cls(config)

    def _decoder(self, identity: str) -> nn.Module:
        if identity not in self.decoders:
            raise ModelError(f"unknown identity {identity!r}; this model has: {', '.join(self.identities)}")
        return self.decoders[identity]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, res, res) in [0, 1] -> (B, bottleneck_channels, res/8, res/8)."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[-2:] != (self.resolution, self.resolution):
            raise ModelError(f"expected faces of shape (B, 3, {self.resolution}, {self.resolution}), got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, code: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """code -> (face (B,3,res,res) in [0,1], mask (B,1,res,res) in [0,1] or None)."""
        out = torch.sigmoid(self._decoder(identity)(code))
        if self.has_mask:
            return out[:, :3], out[:, 3:4]
        return out, None

    def forward(self, x: torch.Tensor, identity: str, target: torch.Tensor | None = None) -> ModelOutput:
        """Reconstruct ``x`` with ``identity``'s decoder; loss = mean absolute error per pixel vs ``target`` (default x).

        The loss is the per-pixel mean (not the library's sum convention), the
        deepfakes choice: its scale does not depend on the resolution. Training
        the mask channel needs a target mask and is left to the caller.
        """
        self._decoder(identity)
        code = self.encode(x)
        face, mask = self.decode(code, identity)
        target = x if target is None else target
        loss = (face.float() - target.float()).abs().mean()
        return ModelOutput(loss=loss, parts={"recon_loss": loss.detach()}, recon=face, code=code, extra={"mask": mask})

    @torch.no_grad()
    def swap(self, x: torch.Tensor, to: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode ``x`` and decode it as identity ``to``: (face, mask or None)."""
        self._decoder(to)
        return self.decode(self.encode(x), to)
