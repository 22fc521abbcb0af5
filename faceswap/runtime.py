"""Device and precision choices shared by every stage."""

from __future__ import annotations

import contextlib
import os
import time

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


def pick_threads(requested, step, max_threads: int | None = None, repeats: int = 2) -> tuple[int, str]:
    """The torch CPU thread count to train with: `requested` as is, or for "auto"
    (or None) the faster of 1 thread and all cores, timed on `step()` (one
    forward and backward pass) right now. Returns (threads, how it was chosen).

    On a CPU that other programs keep busy, a second thread spends its time
    waiting at every synchronisation: the same training ran at 46 faces/s on
    one thread and 4.7 on two there, while on an idle machine two threads win.
    Only a measurement on the machine as it is tells which case this is.
    """
    if requested not in (None, "auto"):
        n = int(requested)
        torch.set_num_threads(n)
        return n, f"{n} (as asked)"
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    cores = min(cores, max_threads or cores)
    if cores <= 1:
        torch.set_num_threads(1)
        return 1, "1 (one core)"
    if torch.get_num_threads() == 1:  # OMP_NUM_THREADS=1 or the caller's choice: respect it
        return 1, "1 (torch is limited to one thread here)"
    timings = {}
    for n in (1, cores):
        torch.set_num_threads(n)
        step()  # warm-up: allocator and thread pool
        t0 = time.perf_counter()
        for _ in range(repeats):
            step()
        timings[n] = (time.perf_counter() - t0) / repeats
    best = min(timings, key=timings.get)
    torch.set_num_threads(best)
    return best, f"{best} (auto: " + ", ".join(f"{n} thread{'s' * (n > 1)} {t:.2f} s/step" for n, t in timings.items()) + ")"
