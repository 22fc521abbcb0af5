"""Prove the GPU paths in one run: training speed per preset, resume, compile, torchrun, extract, convert.

    python scripts/gpu_check.py --out gpu_check.txt            # on a CUDA machine, about 8 minutes
    python scripts/gpu_check.py --quick --sections peak train   # a subset, fewer steps
    python scripts/gpu_check.py --device cpu --allow-cpu --quick --sections train   # smoke test of the logic

Sections (each runs in its own subprocess under its own time limit, so a hung
compile or NCCL start costs one section, not the run, and each section's peak
memory is its own):

  peak      measured bf16 matmul peak (8192^3) on this GPU: the yardstick for TFLOP/s
  train     per preset (lightweight, original, hires): faces/s of our trainer and of
            bench_train.py's naive baseline (ratio), share of step time waiting for
            data, achieved TFLOP/s (FlopCounterMode on one step) and % of the peak,
            peak GPU memory
  resume    faceswap.train.train for N steps, then resumed for N more, vs 2N straight,
            in bf16 and in fp16 (GradScaler); plus the generic fit loop's fp16 resume
  compile   our trainer with torch.compile on and off (first-step time, faces/s)
  torchrun  `faceswap train` under a 1-process torchrun, and DDP + NCCL through fit
  extract   faceswap.extract.extract fps on a 720p clip (default ../shared/data/faces/s18.mp4)
  convert   faceswap.convert.convert fps on the same clip with an untrained lightweight model

Each row is appended to --out as soon as it is measured (a timeout still leaves
the rows so far); the whole table is printed last. Without CUDA it says so in
one line and exits 0 (after checking its arguments; bad ones: one line, exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ["peak", "train", "resume", "compile", "torchrun", "extract", "convert"]
PRESET_NAMES = ["lightweight", "original", "hires"]
# Seconds per section (full run); together with process starts they stay under the 8-minute
# budget. --quick halves them. The parent also stops starting sections when the total runs out.
LIMITS = {"peak": 25, "train": 160, "resume": 60, "compile": 90, "torchrun": 50, "extract": 35, "convert": 35}
TOTAL_BUDGET = 470
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "faces" / "s18.mp4"


# ----------------------------------------------------------------------------------- arguments

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        sys.stderr.write(f"gpu_check: error: {message}\n")
        sys.exit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("gpu_check.txt"), help="table file, one row appended per result")
    ap.add_argument("--quick", action="store_true", help="fewer steps and half the time limits")
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), metavar="NAME",
                    help=f"any of: {' '.join(SECTIONS)} (default: all)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (with --allow-cpu)")
    ap.add_argument("--allow-cpu", action="store_true", help="run on CPU with tiny steps (tests the script only)")
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="720p video for extract/convert")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peak-tflops", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        ap.error(f"--sections: unknown {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
    args.sections = [s for s in SECTIONS if s in args.sections]  # run order fixed, duplicates dropped
    if not re.fullmatch(r"cpu|cuda(:\d+)?", args.device):
        ap.error(f"--device {args.device!r}: use cuda, cuda:N or cpu")
    if args.device == "cpu" and not args.allow_cpu:
        ap.error("--device cpu measures nothing useful; add --allow-cpu for a smoke run")
    if args.out.is_dir() or not args.out.resolve().parent.is_dir():
        ap.error(f"--out {args.out}: needs a file in an existing folder")
    return args


# ----------------------------------------------------------------------------------- the table

HEADER = f"{'section':9s} {'what':34s} {'value':>26s}  note"


def row(out: Path, section: str, what: str, value: str, note: str = "") -> None:
    """Append one table row to `out` and echo it (flushed at once: a timeout keeps it)."""
    line = f"{section:9s} {what:34s} {value:>26s}  {note}".rstrip()
    with open(out, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(line, flush=True)


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


# ----------------------------------------------------------------------------------- sections

def section_peak(args, dev, out: Path) -> None:
    """bf16 matmul TFLOP/s on this device: mean of timed products after warm-ups (fp32 on CPU)."""
    import torch

    gpu = dev.type == "cuda"
    n, reps = (8192, 10) if gpu else (512, 3)
    dtype = torch.bfloat16 if gpu else torch.float32
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(dev)
    tflops = 2 * n**3 * reps / (time.perf_counter() - t) / 1e12
    row(out, "peak", f"{'bf16' if gpu else 'fp32'} matmul {n}^3", f"{tflops:.3g} TFLOP/s",
        torch.cuda.get_device_name(dev) if gpu else "CPU")
    print(f"RESULT peak_tflops={tflops}", flush=True)


def _train_sizes(args, gpu: bool, preset: str) -> tuple[int, int, int, int]:
    """(batch, ours steps, naive steps, warmup) for one preset."""
    from faceswap.train.presets import PRESETS

    if not gpu:
        return 2, 1, 1, 1
    steps = 12 if args.quick else 30
    return PRESETS[preset].batch_size, steps, max(4, steps // 3), 3


def step_flops(preset: str, bs: int, dev) -> int:
    """FLOPs of one training step (forward + backward of A and B), counted by FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from faceswap.models.swap import SwapAutoEncoder
    from faceswap.train.losses import FaceLoss, region_weights
    from faceswap.train.pipeline import SwapTrainer
    from faceswap.train.presets import PRESETS, model_config

    res = PRESETS[preset].resolution
    trainer = SwapTrainer(SwapAutoEncoder(model_config(preset, res)), FaceLoss("l1+dssim", region_weights(res))).to(dev)
    x = [torch.rand(bs, 3, res, res, device=dev) for _ in range(4)]
    counter = FlopCounterMode(display=False)
    with counter:
        trainer(*x).loss.backward()
    total = int(counter.get_total_flops())
    del trainer, x
    return total


def section_train(args, dev, out: Path) -> None:
    import torch

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_train import bench_naive, bench_ours, synthetic_faceset

    from faceswap.train.presets import PRESETS

    gpu = dev.type == "cuda"
    presets = PRESET_NAMES if gpu else ["lightweight"]
    workers = 4 if gpu else 0
    for name in presets:
        res = PRESETS[name].resolution
        bs, steps, naive_steps, warmup = _train_sizes(args, gpu, name)
        fa, fb = synthetic_faceset(32, res, 1), synthetic_faceset(32, res, 2)
        flops = step_flops(name, bs, dev)
        if gpu:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        ours, wait = bench_ours(name, res, fa, fb, bs, steps, dev, warmup)
        mem = torch.cuda.max_memory_allocated(dev) if gpu else 0
        naive, naive_wait = bench_naive(name, res, fa, fb, bs, naive_steps, dev, 1, workers)
        ratio = ours / naive if naive > 0 else float("nan")
        tflops = flops * ours / (2 * bs) / 1e12
        tag = f"{name} ({res}px, b{bs})"
        row(out, "train", f"{tag} faces/s ours|naive", f"{ours:.0f} | {naive:.0f} = {ratio:.1f}x",
            "target >= 3x on hires" if name == "hires" else "")
        row(out, "train", f"{tag} data wait ours|naive", f"{wait:.1%} | {naive_wait:.1%}", "target < 5%")
        pct = f"{tflops / args.peak_tflops:.1%} of peak" if args.peak_tflops else "no peak measured"
        row(out, "train", f"{tag} achieved", f"{tflops:.2f} TFLOP/s", f"{pct} ({flops / 1e9:.1f} GFLOP/step)"
            + ("; target >= 40% on original or hires" if name != "lightweight" else ""))
        if gpu:
            row(out, "train", f"{tag} peak memory", _gib(mem), "ours, bf16 autocast")
        del fa, fb
        if gpu:
            torch.cuda.empty_cache()


def _write_facesets(folder: Path, res: int, n: int = 24) -> tuple[Path, Path]:
    """Two folders of synthetic aligned faces (PNG) that faceswap.train.train loads as facesets."""
    import cv2

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_train import synthetic_faceset

    paths = []
    for side, seed in (("a", 1), ("b", 2)):
        d = folder / side
        d.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(synthetic_faceset(n, res, seed)):
            cv2.imwrite(str(d / f"{i:04d}_0.png"), img[:, :, ::-1])
        paths.append(d)
    return paths[0], paths[1]


def _max_diff(dir1: Path, dir2: Path) -> float:
    from faceswap.train.checkpoint import load_swap_model

    m1, _ = load_swap_model(dir1, "cpu")
    m2, _ = load_swap_model(dir2, "cpu")
    s2 = m2.state_dict()
    return max(float((v.float() - s2[k].float()).abs().max()) for k, v in m1.state_dict().items() if v.numel())


def _resume_pipeline(dev, tmp: Path, fa: Path, fb: Path, n: int, tag: str) -> tuple[float, float, str]:
    """(diff straight-vs-resumed, diff straight-vs-straight, scaler state saved?) for faceswap.train.train."""
    from faceswap.train.pipeline import train
    from faceswap.training import load_trainer_state

    kw = dict(preset="lightweight", batch_size=8, device=str(dev), save_every=0, preview_every=0, progress=False)
    straight, again, split = tmp / f"{tag}_straight", tmp / f"{tag}_again", tmp / f"{tag}_split"
    train(fa, fb, straight, iterations=2 * n, **kw)
    train(fa, fb, again, iterations=2 * n, **kw)
    train(fa, fb, split, iterations=n, **kw)
    train(fa, fb, split, iterations=2 * n, **kw)  # a total, not steps per call
    scaler = load_trainer_state(split).get("scaler")
    return _max_diff(straight, split), _max_diff(straight, again), "scaler saved" if scaler else "no scaler state saved"


def _resume_fit(dev, tmp: Path, n: int) -> tuple[float, str]:
    """The generic fit loop with checkpoint_dir: N + N steps vs 2N straight; (max diff, scaler note)."""
    import torch

    from faceswap.models import DenseAutoEncoder
    from faceswap.training import fit, load_trainer_state

    data = torch.rand(256, 32, generator=torch.Generator().manual_seed(0))

    def batches(step: int):
        g = torch.Generator().manual_seed(step)
        return data[torch.randint(len(data), (32,), generator=g)]

    def run(folder: Path, steps: int):
        torch.manual_seed(0)
        model = DenseAutoEncoder([32, 16, 32])
        fit(model, batches, steps=steps, device=dev, seed=0, checkpoint_dir=folder, progress=False, lr=1e-2)
        return model

    a = run(tmp / "fit_straight", 2 * n)
    run(tmp / "fit_split", n)
    b = run(tmp / "fit_split", 2 * n)
    diff = max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))
    scaler = load_trainer_state(tmp / "fit_split").get("scaler")
    return diff, f"scaler {scaler}" if scaler else "no scaler state saved"


def section_resume(args, dev, out: Path) -> None:
    import torch
    from unittest import mock

    gpu = dev.type == "cuda"
    # Deterministic kernels, so a difference means resume lost state, not cuDNN's algorithm choice;
    # the straight-vs-straight column shows what nondeterminism is left.
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)
    n = 3 if (args.quick or not gpu) else 10
    modes = [("bf16", False), ("fp16", True)] if gpu else [("fp32", False)]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        fa, fb = _write_facesets(tmp / "faces", 64)
        for tag, force_fp16 in modes:
            # fit picks bf16 whenever the GPU supports it; pretending it does not is the only way
            # to run the fp16 + GradScaler path on a bf16-capable GPU.
            patch = mock.patch("torch.cuda.is_bf16_supported", return_value=False) if force_fp16 else contextlib.nullcontext()
            with patch:
                diff, floor, note = _resume_pipeline(dev, tmp, fa, fb, n, tag)
                verdict = "exact" if diff == 0 else f"max diff {diff:.2e}"
                row(out, "resume", f"train() {tag} {n}+{n} vs {2 * n} steps", verdict,
                    f"straight twice: {'exact' if floor == 0 else f'{floor:.2e}'}; {note}"
                    + ("; target exact" if tag == "bf16" else ""))
                if force_fp16 or not gpu:
                    diff, note = _resume_fit(dev, tmp, n)
                    row(out, "resume", f"fit() {tag} {n}+{n} vs {2 * n} steps",
                        "exact" if diff == 0 else f"max diff {diff:.2e}", note)


def section_compile(args, dev, out: Path) -> None:
    import torch

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_train import synthetic_faceset

    from faceswap.models.swap import SwapAutoEncoder
    from faceswap.train.data import Faceset, SwapBatches
    from faceswap.train.losses import FaceLoss, region_weights
    from faceswap.train.pipeline import SwapTrainer, _optimizer
    from faceswap.train.presets import PRESETS, model_config
    from faceswap.training import fit

    gpu = dev.type == "cuda"
    name = "hires" if gpu and not args.quick else "lightweight"
    res = PRESETS[name].resolution
    bs = PRESETS[name].batch_size if gpu else 2
    steps = (10 if args.quick else 20) if gpu else 1
    faces = [Faceset(None, torch.from_numpy(synthetic_faceset(16, res, s)).to(dev), None, res) for s in (1, 2)]
    batches = SwapBatches(faces[0], faces[1], bs, res)
    for compiled in (False, True):
        torch.manual_seed(0)
        model = SwapAutoEncoder(model_config(name, res)).to(dev)
        if gpu:
            model = model.to(memory_format=torch.channels_last)
        trainer = SwapTrainer(model, FaceLoss("l1+dssim", region_weights(res)), channels_last=gpu).to(dev)
        step_model = torch.compile(trainer) if compiled else trainer
        opt = _optimizer(trainer, 1e-4, dev)
        t = time.perf_counter()
        st = fit(step_model, batches, steps=2, optimizer=opt, device=dev, progress=False)  # compiles here
        _sync(dev)
        first = time.perf_counter() - t
        t = time.perf_counter()
        st = fit(step_model, batches, steps=2 + steps, start_step=2, optimizer=opt, device=dev, progress=False)
        _sync(dev)
        fps = steps * 2 * bs / (time.perf_counter() - t)
        row(out, "compile", f"{name} b{bs} compile {'on' if compiled else 'off'}", f"{fps:.0f} faces/s",
            f"first 2 steps {first:.1f} s; loss {st.loss:.4f}")
        del model, trainer, step_model, opt


def _tail(text: str, n: int = 300) -> str:
    """The line that says what went wrong: torchrun's own report ends with boilerplate, so
    prefer the child's first 'XxxError: ...' line."""
    lines = text.strip().splitlines()
    errors = [ln.strip() for ln in lines if re.search(r"(Error|error): ", ln) and "ChildFailedError" not in ln]
    return (errors[0] if errors else " ".join(lines[-3:]))[:n]


def ddp_worker(args) -> None:
    """Under torchrun: DDP over SwapTrainer through fit, NCCL on CUDA (gloo on CPU); prints faces/s."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_train import synthetic_faceset

    from faceswap.models.swap import SwapAutoEncoder
    from faceswap.train.data import Faceset, SwapBatches
    from faceswap.train.losses import FaceLoss, region_weights
    from faceswap.train.pipeline import SwapTrainer, _optimizer
    from faceswap.train.presets import model_config
    from faceswap.training import fit

    local = int(os.environ.get("LOCAL_RANK", "0"))
    gpu = args.device.startswith("cuda")
    dev = torch.device("cuda", local) if gpu else torch.device("cpu")
    if gpu:
        torch.cuda.set_device(dev)
    dist.init_process_group("nccl" if gpu else "gloo")
    bs, steps = (8, 20) if gpu else (2, 2)
    faces = [Faceset(None, torch.from_numpy(synthetic_faceset(16, 64, s)).to(dev), None, 64) for s in (1, 2)]
    trainer = SwapTrainer(SwapAutoEncoder(model_config("lightweight", 64)), FaceLoss("l1+dssim", region_weights(64))).to(dev)
    ddp = DDP(trainer, device_ids=[local] if gpu else None)
    opt = _optimizer(trainer, 1e-4, dev)
    batches = SwapBatches(faces[0], faces[1], bs, 64, rank=dist.get_rank())
    fit(ddp, batches, steps=2, optimizer=opt, device=dev, progress=False)
    _sync(dev)
    t = time.perf_counter()
    st = fit(ddp, batches, steps=2 + steps, start_step=2, optimizer=opt, device=dev, progress=False)
    _sync(dev)
    print(f"DDP {dist.get_backend()} world {dist.get_world_size()}: "
          f"{steps * 2 * bs / (time.perf_counter() - t):.1f} faces/s, loss {st.loss:.4f}", flush=True)
    dist.destroy_process_group()


def section_torchrun(args, dev, out: Path) -> None:
    gpu = dev.type == "cuda"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1"]
    limit = max(10, _section_limit(args, "torchrun") // 2 - 2)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        fa, fb = _write_facesets(tmp / "faces", 64, 16)
        iters = 20 if gpu else 2
        cmd = run + ["-m", "faceswap.cli", "train", str(fa), str(fb), "-m", str(tmp / "model"), "--iterations", str(iters),
                     "--preset", "lightweight", "--no-progress", "--save-every", "0", "--preview-every", "0",
                     "--device", str(dev) if not gpu else "cuda"]
        if not gpu:
            cmd += ["--batch-size", "2", "--threads", "1"]
        _run_sub(out, "torchrun", "faceswap train (1 process)", cmd, env, limit, r"([\d.]+) faces/s", "faces/s",
                 "WORLD_SIZE=1: train() skips DDP, so this checks the launcher only")
        cmd = run + [str(Path(__file__).resolve()), "--ddp-worker", "--device", str(dev), "--out", str(out)]
        cmd += [] if gpu else ["--allow-cpu"]
        _run_sub(out, "torchrun", "DDP fit, 1 process", cmd, env, limit, r"DDP (\w+) world \d+: ([\d.]+) faces/s", None, "")


def _run_limited(cmd: list[str], env: dict, limit: float) -> subprocess.CompletedProcess:
    """Run `cmd` with a time limit; on timeout (or Ctrl-C) kill its whole process group, so that
    torchrun's workers or inductor's compile workers cannot outlive it and hold the GPU."""
    import signal

    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=limit)
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def _run_sub(out, section, what, cmd, env, limit, pattern, unit, note) -> None:
    t = time.perf_counter()
    try:
        p = _run_limited(cmd, env, limit)
    except subprocess.TimeoutExpired:
        row(out, section, what, "TIMEOUT", f"after {limit} s")
        return
    secs = time.perf_counter() - t
    text = p.stdout + p.stderr
    m = re.search(pattern, text)
    if p.returncode != 0 or not m:
        row(out, section, what, f"FAILED rc {p.returncode}", _tail(text))
    elif unit:
        row(out, section, what, f"{float(m.group(1)):.0f} {unit}", f"{secs:.0f} s in all; {note}".rstrip("; "))
    else:
        row(out, section, what, f"{float(m.group(2)):.0f} faces/s ({m.group(1)})", f"{secs:.0f} s in all")


def _clip(args, dev, out: Path, section: str, tmp: Path) -> Path | None:
    """The clip to measure: the whole 720p clip on a GPU, its first frames on CPU (a smoke run)."""
    if not args.clip.is_file():
        row(out, section, "clip", "SKIPPED", f"{args.clip} not found (on a device machine: copy it in and pass --clip)")
        return None
    if dev.type == "cuda":
        return args.clip
    from faceswap.video import cut_clip

    short = tmp / "clip.mp4"
    cut_clip(args.clip, short, 3, preset="ultrafast")
    return short


def section_extract(args, dev, out: Path) -> None:
    from faceswap.extract.pipeline import extract

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        clip = _clip(args, dev, out, "extract", tmp)
        if clip is None:
            return
        t0 = time.perf_counter()
        s = extract(clip, tmp / "faces", device=str(dev), progress=False)
        secs = time.perf_counter() - t0
        row(out, "extract", f"{clip.name} --device {dev.type}", f"{s.frames_read / secs:.1f} fps",
            f"{s.frames_read} frames, {s.faces_written} faces, {s.full_detections} full detections, {secs:.1f} s with model load")


def section_convert(args, dev, out: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_convert import make_model

    from faceswap.convert.pipeline import convert

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        clip = _clip(args, dev, out, "convert", tmp)
        if clip is None:
            return
        model = make_model(tmp / "model")
        t0 = time.perf_counter()
        s = convert(clip, model, tmp / "out.mp4", device=str(dev), progress=False)
        secs = time.perf_counter() - t0
        row(out, "convert", f"{clip.name} --device {dev.type}", f"{s.fps:.1f} fps",
            f"{s.frames} frames, {s.faces_swapped} faces (detection + tracking), {secs:.1f} s with model load")


SECTION_FUNCS = {"peak": section_peak, "train": section_train, "resume": section_resume, "compile": section_compile,
                 "torchrun": section_torchrun, "extract": section_extract, "convert": section_convert}


# ----------------------------------------------------------------------------------- driver

def _section_limit(args, name: str) -> int:
    limit = LIMITS[name] // (2 if args.quick else 1)
    return limit if args.device != "cpu" else max(limit, 60)  # a loaded CPU needs longer for tiny steps


def run_child(args) -> int:
    """One section in this process (the parent runs each in its own)."""
    import torch

    if args.device == "cpu":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    dev = torch.device(args.device)
    try:
        SECTION_FUNCS[args.child](args, dev, args.out)
    except Exception as e:  # a broken GPU path is a finding: keep it as a row, not a traceback
        import traceback

        traceback.print_exc()
        row(args.out, args.child, "error", "FAILED", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200])
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ddp_worker:
        ddp_worker(args)
        return 0
    if args.child:
        return run_child(args)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine; nothing measured (--device cpu --allow-cpu runs a smoke test)")
        return 0
    out = args.out
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# gpu_check {time.strftime('%Y-%m-%d %H:%M:%S')} device {args.device}, torch {torch.__version__}"
                f"{', quick' if args.quick else ''}\n{HEADER}\n")
    print(HEADER, flush=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PYTHONUNBUFFERED="1", CUBLAS_WORKSPACE_CONFIG=os.environ.get("CUBLAS_WORKSPACE_CONFIG", ":4096:8"))
    start = time.perf_counter()
    peak = None
    failed = 0
    for name in args.sections:
        left = TOTAL_BUDGET - (time.perf_counter() - start)
        if args.device != "cpu" and left < 10:
            row(out, name, "not run", "SKIPPED", "the 8-minute budget is spent")
            continue
        limit = int(min(_section_limit(args, name), left)) if args.device != "cpu" else _section_limit(args, name)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--out", str(out), "--device", args.device,
               "--clip", str(args.clip)] + (["--quick"] if args.quick else []) + (["--allow-cpu"] if args.allow_cpu else [])
        if peak:
            cmd += ["--peak-tflops", str(peak)]
        t = time.perf_counter()
        try:
            p = _run_limited(cmd, env, limit)
        except subprocess.TimeoutExpired:
            row(out, name, "section", "TIMEOUT", f"stopped after {limit} s; rows above are what it finished")
            failed += 1
            continue
        m = re.search(r"RESULT peak_tflops=([\d.eE+-]+)", p.stdout)
        if m:
            peak = float(m.group(1))
        if p.returncode != 0:
            failed += 1
            sys.stderr.write(f"--- {name} (rc {p.returncode}) ---\n{p.stderr[-3000:]}\n")
        print(f"  [{name}: {time.perf_counter() - t:.0f} s]", flush=True)
    total = time.perf_counter() - start
    with open(out, "a", encoding="utf-8") as f:
        f.write(f"# {total:.0f} s in all; {failed} section(s) failed or timed out\n")
    print(f"\n{out}:\n" + out.read_text(encoding="utf-8"), end="", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
