"""Train the shipped demo model (weights/demo) from the bundled public-domain faces.

    python scripts/train_demo.py                      # writes weights/demo/
    python scripts/train_demo.py --iterations 500 --out /tmp/demo-model

Renders training clips of Eileen Collins and Grace Hopper with motions other
than the demo's (seed 100+), extracts them, trains the `lightweight` preset
with a fixed seed (the same seed on the same CPU gives the same weights), and
exports the weights in float16 (half the size; loading casts them back to the
model's float32 parameters). Prints the training time and losses last.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faceswap.demo import make_clips, train_demo_model  # noqa: E402
from faceswap.extract import extract  # noqa: E402
from faceswap.train.checkpoint import export_half  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "demo")
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--nowarp-iterations", type=int, default=750,
                    help="of --iterations, how many finish on unwarped faces (train --no-warp)")
    ap.add_argument("--refine-iterations", type=int, default=1500, help="steps of Hopper's detail upsampler (0: none)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each training clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="keep clips/facesets/checkpoints here (resumable)")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-demo-train-"))
    start = time.perf_counter()
    if not (work / "clips" / "b.mp4").exists():
        make_clips(work / "clips", seconds=args.seconds, seed=100)
    for name in ("a", "b"):
        if not (work / "faces" / name / "alignments.json").exists():
            extract(work / "clips" / f"{name}.mp4", work / "faces" / name, force=True)
    prep = time.perf_counter() - start
    summary = train_demo_model(work / "faces" / "a", work / "faces" / "b", work / "model", args.iterations,
                               seed=args.seed, nowarp=args.nowarp_iterations, device="cpu", threads=1)
    refined = None
    if args.refine_iterations:
        from faceswap.train.refine import refine

        refined = refine(work / "model", identity="b", steps=args.refine_iterations, device="cpu", progress=False)
    export_half(work / "model", args.out)
    total = time.perf_counter() - start
    print(f"clips + extraction: {prep:.0f} s; training {summary.step - summary.start_step} iterations: "
          f"{summary.seconds:.0f} s ({summary.examples_per_s:.1f} faces/s) on {torch.get_num_threads()} CPU threads")
    print(f"losses first {summary.first} -> last {summary.last}")
    if refined:
        print(f"detail upsampler of b: {refined['step']} steps in {refined['seconds']:.0f} s, losses {refined['loss']}")
    print(f"wrote {args.out} in {total / 60:.1f} min")


if __name__ == "__main__":
    main()
