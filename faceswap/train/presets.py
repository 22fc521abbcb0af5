"""Training presets: a SwapConfig plus the training defaults that suit it.

Parameter counts are for two identities without a mask channel (computed with
`count_parameters`; `python -m faceswap.train.presets` prints them).

- ``lightweight`` (64 px, 6,283,270 parameters): encoder 32-64-128-256,
  latent 256, small decoders. Learns a recognisable swap on a laptop CPU in
  tens of minutes; the default. At 128 px (10.75 M parameters with a mask,
  about 3.5 times the CPU time per step) it is what the shipped 128 px face
  prior and the demo model are: from that prior, half an hour of one CPU
  thread gives a sharper swap than the 64 px model does.
- ``original`` (64 px, 82,062,470 parameters): the classic deepfakes
  autoencoder, i.e. the SwapConfig defaults: four 5x5 stride-2 convs
  128-256-512-1024, dense 1024 latent, dense back to 4x4x1024, pixel-shuffle
  upscalers 512 (shared) then 256-128-64 per decoder. About 0.3 it/s on a
  2-core CPU: for a GPU, or for patience.
- ``hires`` (128 px, 65,929,734 parameters): encoder 64-128-256-512 (the
  dense layers grow with (res/16)^2, so the top is narrower than original's),
  latent 512, and two residual blocks after every decoder upscale for sharper
  detail at 128 px. For GPUs (bf16 autocast,
  channels_last, optionally torch.compile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faceswap.models.swap import SwapAutoEncoder


@dataclass(frozen=True)
class Preset:
    """A named model config and its training defaults."""

    name: str
    model: dict[str, Any]  # SwapConfig fields (resolution, identities added by train())
    batch_size: int
    lr: float
    purpose: str
    params: int = 0  # measured with count_parameters (two identities, no mask)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> int:
        return int(self.model.get("resolution", 64))


PRESETS: dict[str, Preset] = {
    "lightweight": Preset(
        "lightweight",
        dict(
            resolution=64,
            encoder_channels=(32, 64, 128, 256),
            kernel_size=3,
            latent_dim=256,
            bottleneck_channels=128,
            decoder_channels=(64, 32, 16),
            upsample="pixel_shuffle",
            residual_blocks=0,
        ),
        batch_size=8,
        lr=5e-4,
        purpose="a recognisable swap on a laptop CPU in tens of minutes",
        params=6_283_270,
    ),
    "original": Preset(
        "original",
        dict(
            resolution=64,
            encoder_channels=(128, 256, 512, 1024),
            kernel_size=5,
            latent_dim=1024,
            bottleneck_channels=512,
            decoder_channels=(256, 128, 64),
            upsample="pixel_shuffle",
            residual_blocks=0,
        ),
        batch_size=16,
        lr=5e-5,
        purpose="the classic deepfakes autoencoder (GPU, or a patient CPU)",
        params=82_062_470,
    ),
    "hires": Preset(
        "hires",
        dict(
            resolution=128,
            encoder_channels=(64, 128, 256, 512),
            kernel_size=5,
            latent_dim=512,
            bottleneck_channels=512,
            decoder_channels=(256, 128, 64),
            upsample="pixel_shuffle",
            residual_blocks=2,
        ),
        batch_size=32,
        lr=5e-5,
        purpose="128 px with residual blocks, for GPUs",
        params=65_929_734,
    ),
}


def model_config(preset: str | Preset, resolution: int | None = None, mask: bool = False) -> dict[str, Any]:
    """The SwapConfig fields for `preset`, at `resolution` (default: the preset's)."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    cfg = dict(p.model)
    cfg["encoder_channels"] = list(cfg["encoder_channels"])
    cfg["decoder_channels"] = list(cfg["decoder_channels"])
    if resolution is not None:
        cfg["resolution"] = int(resolution)
    cfg["identities"] = ["a", "b"]
    cfg["mask"] = bool(mask)
    return cfg


def count_parameters(preset: str, resolution: int | None = None) -> int:
    """Build the preset's model and count its parameters."""
    model = SwapAutoEncoder(model_config(preset, resolution))
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    for name, p in PRESETS.items():
        print(f"{name:12s} {p.resolution:4d} px  {count_parameters(name):>12,d} parameters  {p.purpose}")
