"""Device and precision choices shared by every stage."""

from __future__ import annotations

import contextlib

import torch

from faceswap.errors import FaceswapError


def pick_device(name: str | None = None) -> torch.device:
    """Return the requested device, or CUDA when present, else CPU.

    `name` is e.g. "cpu", "cuda", "cuda:1" or None/"auto".
    """
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FaceswapError(f"--device {name!r}: not a device name (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FaceswapError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on GPUs that support it, else fp16; None (fp32) on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, enabled: bool = True):
    """Autocast context for inference/training on `device` (no-op on CPU)."""
    dtype = autocast_dtype(device)
    if not enabled or dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
