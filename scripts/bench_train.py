"""Benchmark `faceswap train` per preset against a naive baseline, in the same run.

ours:  faceset in memory on the device, batched torch augmentation there
       (SwapBatches), faceswap.training.fit (fused Adam; on GPU bf16/fp16
       autocast and channels_last).
naive: the same model and loss, per-sample numpy/cv2 augmentation (warpAffine
       similarity + remap of an upsampled random grid) in a torch DataLoader on
       the CPU, and a plain fp32 loop (Adam, no autocast).

Prints faces/s (2 x batch per step: A and B) for each, their ratio, the
share of step time spent waiting for data, and the achieved GFLOP/s of our
step (its FLOPs counted by torch) against the device's matmul peak measured
in the same run. Figures last.

    python scripts/bench_train.py                       # every preset, few steps
    python scripts/bench_train.py --presets lightweight --steps 20 --device cuda
    python scripts/bench_train.py --presets lightweight lightweight@128 --threads 1 --steps 10   # a preset at another size
"""

from __future__ import annotations

import argparse
import math
import time

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from faceswap.models.swap import SwapAutoEncoder
from faceswap.train.augment import AugmentConfig
from faceswap.train.data import Faceset, SwapBatches
from faceswap.train.losses import FaceLoss, region_weights
from faceswap.train.pipeline import SwapTrainer, _optimizer
from faceswap.train.presets import PRESETS, model_config
from faceswap.training import fit


def synthetic_faceset(n: int, size: int, seed: int) -> np.ndarray:
    """n smooth random 'faces' (uint8 RGB): blurred noise plus an ellipse; content does not matter for speed."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), (0, 0), size / 32)
        cv2.ellipse(img, (size // 2, size // 2), (size // 3, size * 2 // 5), 0, 0, 360, (170, 140, 120), -1)
        out[i] = img
    return out


class NaiveFaces(Dataset):
    """Per-sample cv2 augmentation, as a classic CPU data pipeline does it."""

    def __init__(self, images: np.ndarray, cfg: AugmentConfig, length: int):
        self.images, self.cfg, self.length = images, cfg, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng(i)
        img = self.images[rng.integers(len(self.images))]
        s = img.shape[0]
        c = self.cfg
        m = cv2.getRotationMatrix2D(
            (s / 2, s / 2), rng.uniform(-c.rotation, c.rotation), 1 + rng.uniform(-c.scale, c.scale)
        )
        m[:, 2] += rng.uniform(-c.shift, c.shift, 2) * s
        img = cv2.warpAffine(img, m, (s, s), borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < c.flip:
            img = img[:, ::-1]
        coarse = rng.normal(0, c.warp * s / 2, (c.warp_grid, c.warp_grid, 2)).astype(np.float32)
        dense = cv2.resize(coarse, (s, s), interpolation=cv2.INTER_CUBIC)
        gx, gy = np.meshgrid(np.arange(s, dtype=np.float32), np.arange(s, dtype=np.float32))
        warped = cv2.remap(img, gx + dense[..., 0], gy + dense[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 255  # noqa: E731
        return to_t(warped), to_t(img)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def bench_ours(preset: str, res: int, fa: np.ndarray, fb: np.ndarray, bs: int, steps: int, dev: torch.device,
               warmup: int):
    torch.manual_seed(0)
    model = SwapAutoEncoder(model_config(preset, res)).to(dev)
    cl = dev.type == "cuda"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    trainer = SwapTrainer(model, FaceLoss("l1+dssim", region_weights(res)), channels_last=cl).to(dev)
    faces = [Faceset(None, torch.from_numpy(x).to(dev), None, res) for x in (fa, fb)]
    batches = SwapBatches(faces[0], faces[1], bs, res)
    data_time = [0.0]

    def timed(step: int):
        _sync(dev)
        t = time.perf_counter()
        batch = batches(step)
        _sync(dev)
        if step >= warmup:
            data_time[0] += time.perf_counter() - t
        return batch

    opt = _optimizer(trainer, 1e-4, dev)
    fit(trainer, timed, steps=warmup, optimizer=opt, device=dev, progress=False)
    _sync(dev)
    t0 = time.perf_counter()
    fit(trainer, timed, steps=warmup + steps, start_step=warmup, optimizer=opt, device=dev, progress=False)
    _sync(dev)
    total = time.perf_counter() - t0
    return steps * 2 * bs / total, data_time[0] / total


def bench_naive(preset: str, res: int, fa: np.ndarray, fb: np.ndarray, bs: int, steps: int, dev: torch.device,
                warmup: int, workers: int):
    torch.manual_seed(0)
    model = SwapAutoEncoder(model_config(preset, res)).to(dev)
    trainer = SwapTrainer(model, FaceLoss("l1+dssim", region_weights(res))).to(dev)
    opt = torch.optim.Adam(trainer.parameters(), lr=1e-4)
    cfg = AugmentConfig()
    n = (steps + warmup) * bs
    la = iter(DataLoader(NaiveFaces(fa, cfg, n), batch_size=bs, num_workers=workers, shuffle=False))
    lb = iter(DataLoader(NaiveFaces(fb, cfg, n), batch_size=bs, num_workers=workers, shuffle=False))
    data_time, t0 = 0.0, None
    for step in range(steps + warmup):
        if step == warmup:
            _sync(dev)
            t0 = time.perf_counter()
        t = time.perf_counter()
        (a_in, a_t), (b_in, b_t) = next(la), next(lb)
        a_in, a_t, b_in, b_t = (x.to(dev) for x in (a_in, a_t, b_in, b_t))
        _sync(dev)
        if step >= warmup:
            data_time += time.perf_counter() - t
        opt.zero_grad()
        trainer(a_in, a_t, b_in, b_t).loss.backward()
        opt.step()
    _sync(dev)
    total = time.perf_counter() - t0
    return steps * 2 * bs / total, data_time / total


def step_flops(preset: str, res: int, bs: int, dev: torch.device) -> float:
    """Floating-point operations of one training step (A and B, forward and backward),
    counted by torch's FlopCounterMode (matmuls and convolutions: the work that matters)."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = SwapAutoEncoder(model_config(preset, res)).to(dev)
    trainer = SwapTrainer(model, FaceLoss("l1+dssim", region_weights(res))).to(dev)
    x = [torch.rand(bs, 3, res, res, device=dev) for _ in range(4)]
    with FlopCounterMode(display=False) as counter:
        trainer(*x).loss.backward()
    return float(counter.get_total_flops())


def matmul_peak(dev: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Measured matrix-multiply FLOP/s on this device as it is now (fp32 on a CPU with
    torch's current threads, bf16 on a GPU): the ceiling a training step can approach."""
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    a, b = torch.rand(n, n, device=dev, dtype=dtype), torch.rand(n, n, device=dev, dtype=dtype)
    a @ b
    _sync(dev)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        _sync(dev)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), help="names, or NAME@RESOLUTION")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per preset (default: 3 CPU, 30 GPU; hires 1 on CPU)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the preset's (hires: 4 on CPU)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--faces", type=int, default=64, help="synthetic faces per identity")
    ap.add_argument("--workers", type=int, default=None, help="naive DataLoader workers (default: 0 on CPU, 4 on GPU)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    gpu = dev.type == "cuda"
    workers = args.workers if args.workers is not None else (4 if gpu else 0)
    rows = []
    for entry in args.presets:
        name, _, size = entry.partition("@")
        p = PRESETS[name]
        res = int(size or p.resolution)
        steps = args.steps or (30 if gpu else (1 if name == "hires" else 3))
        bs = args.batch_size or (min(p.batch_size, 4) if not gpu and name == "hires" else p.batch_size)
        fa = synthetic_faceset(args.faces, res, 1)
        fb = synthetic_faceset(args.faces, res, 2)
        print(f"{name}: {steps} steps, batch {bs}, {res} px on {dev} ...", flush=True)
        ours, ours_wait = bench_ours(name, res, fa, fb, bs, steps, dev, args.warmup)
        naive, naive_wait = bench_naive(name, res, fa, fb, bs, steps, dev, args.warmup, workers)
        flops = step_flops(name, res, bs, dev)
        rows.append((name, res, bs, steps, ours, naive, ours_wait, naive_wait, flops * ours / (2 * bs)))
        print(f"  ours {ours:.2f} faces/s, naive {naive:.2f} faces/s", flush=True)
    peak = matmul_peak(dev)
    device_name = torch.cuda.get_device_name(dev) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"\nfaces/s (A and B faces per second of training), {device_name}, torch {torch.__version__}; "
          f"measured {'bf16' if gpu else 'fp32'} matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"{'preset':12s} {'px':>4s} {'batch':>5s} {'steps':>5s} {'ours':>9s} {'naive':>9s} {'ratio':>6s} "
          f"{'data wait ours':>15s} {'naive':>6s} {'GFLOP/s':>9s} {'of peak':>8s}")
    for name, res, bs, steps, ours, naive, ow, nw, achieved in rows:
        ratio = ours / naive if naive > 0 else math.nan
        print(f"{name:12s} {res:4d} {bs:5d} {steps:5d} {ours:9.2f} {naive:9.2f} {ratio:5.2f}x {ow:14.1%} {nw:6.1%} "
              f"{achieved / 1e9:9.1f} {achieved / peak:7.1%}")


if __name__ == "__main__":
    main()
