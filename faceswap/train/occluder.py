"""`train_occluder()`: train the occlusion model on synthetic cover over real faces.

The faces are facesets (aligned crops, `faceswap extract`); the cover is made
by `faceswap.train.cover.CoverSynth`, a fresh random batch every step (seeded
by the step, so a resumed run draws the same batches). The generic fit loop
does the rest and keeps a resumable checkpoint in `work`; `export_compact`
(faceswap.train.checkpoint) turns it into shipped weights.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import numpy as np
import torch

from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.extract.faceset import load_faceset
from faceswap.models.occluder import Occluder
from faceswap.train.cover import CoverSynth
from faceswap.training import Callback, fit


def load_faces(facesets: list[Path], size: int = 128, every: int = 1) -> np.ndarray:
    """(N, size, size, 3) uint8: every `every`-th face of each faceset, resized to `size`."""
    return np.concatenate([load_faceset(f, size=size)[0][::every] for f in facesets])


def train_occluder(
    faces: np.ndarray,
    work: str | Path,
    *,
    coverage: float = DEFAULT_COVERAGE,
    skin: np.ndarray | None = None,
    resolution: int = 64,
    channels: tuple[int, ...] = (16, 24, 32, 48),
    steps: int = 4000,
    batch_size: int = 24,
    lr: float = 2e-3,
    clean: float = 0.35,
    init: str | Path | None = None,
    time: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log_every: int = 100,
) -> dict:
    """Fit an `Occluder` on synthetic cover over `faces` ((N, S, S, 3) uint8 crops aligned at `coverage`);
    `skin`: other people's faces to cut hands from; `clean`: share of samples without cover;
    `init`: a model directory to start from (fresh optimizer). Checkpoints into `work` (resumes there).
    Returns {"dir", "step", "seconds", "loss": first and last smoothed losses}."""
    synth = CoverSynth(faces, resolution=resolution, coverage=coverage, skin=skin, clean=clean)
    net = Occluder({"resolution": resolution, "channels": list(channels)})
    if init is not None:  # a second phase (e.g. a lower lr) starts from a trained model's weights
        from faceswap.models.serialization import load_weights

        load_weights(net, init)

    def batches(step: int):
        return synth.batch(batch_size, np.random.default_rng(seed * 1_000_003 + step))

    return fit_logged(net, batches, work, steps=steps, lr=lr, time=time, seed=seed, device=device,
                      progress=progress, log_every=log_every, desc="occluder",
                      meta={"kind": "occluder", "resolution": resolution, "coverage": coverage})


def fit_logged(net, batches, work: str | Path, *, steps: int, lr: float, time: float | None, seed: int,
               device: str, progress: bool, log_every: int, desc: str, meta: dict) -> dict:
    """The generic fit loop for the small segmentation nets (occlusion, face region):
    checkpoints into `work` every 250 steps (resumes there), prints the smoothed loss
    every `log_every` steps without a progress bar. Returns {"dir", "step", "seconds",
    "loss": means of the first and last 50 steps}."""
    losses: list[float] = []

    def log(state) -> None:
        losses.append(float(state.loss))
        if progress is False and state.step % log_every == 0:
            recent = np.mean(losses[-log_every:])
            print(f"step {state.step}: loss {recent:.4f} ({_time.perf_counter() - t0:.0f} s)", flush=True)

    t0 = _time.perf_counter()
    state = fit(net, batches, steps=steps, lr=lr, device=device, seed=seed, grad_clip=1.0, checkpoint_dir=work,
                checkpoint_every=250, callbacks=[Callback(1, log)], progress=progress, time_budget=time,
                desc=desc, extra={"faceswap": meta})
    head = float(np.mean(losses[:50])) if losses else float("nan")
    tail = float(np.mean(losses[-50:])) if losses else float("nan")
    return {"dir": Path(work), "step": state.step, "seconds": _time.perf_counter() - t0, "loss": (head, tail)}





def uncovered_mask_targets(images: torch.Tensor, mask: torch.Tensor, coverage: float | None) -> torch.Tensor:
    """Per-face mask targets with what covers each face taken out: (N, 1, R, R) = `mask`
    (the (1, 1, R, R) face ellipse, faceswap.train.losses.face_mask) * (1 - cover), the
    cover of each training face (images (N, R, R, 3) uint8) by the shipped occlusion
    model (faceswap.occlusion). A decoder that learns this mask stops claiming hands,
    microphones and glasses as face, so convert's learned mask leaves them too."""
    from faceswap.occlusion import load_occluder, OcclusionMasker

    net, net_coverage = load_occluder()
    size = images.shape[1]
    masker = OcclusionMasker(net, net_coverage, size, coverage or DEFAULT_COVERAGE, torch.device("cpu"))
    frames = images.cpu().numpy()
    covers = [masker(list(frames[i:i + 64])) for i in range(0, len(frames), 64)]
    cover = torch.from_numpy(np.stack([c for batch in covers for c in batch]))[:, None]
    return mask.cpu() * (1 - cover)
