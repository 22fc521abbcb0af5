"""Train the shipped demo model (weights/demo) from the bundled public-domain faces.

    python scripts/train_demo.py                      # writes weights/demo/
    python scripts/train_demo.py --iterations 500 --out /tmp/demo-model
    python scripts/train_demo.py --device cuda        # the same recipe on a GPU (minutes, not an hour)

Renders training clips of Eileen Collins and Grace Hopper with motions other
than the demo's (seed 100+), extracts them (or takes `--facesets DIR` holding
a/ and b/ extracted before), trains the `lightweight` preset with a mask at
128 px from the shipped face prior (`--init weights/prior128`; `--init none`
for a 64 px model from scratch) with a fixed seed, trains Hopper's detail
upsampler, and exports compact weights (faceswap.models.compact: 4 or 8 bits
per weight; loading expands them to float32). Prints the training time and
losses last.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faceswap.demo import train_demo_model  # noqa: E402
from faceswap.train.checkpoint import export_compact  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "demo")
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--nowarp-iterations", type=int, default=750,
                    help="of --iterations, how many finish on unwarped faces (train --no-warp)")
    ap.add_argument("--refine-iterations", type=int, default=1500, help="steps of Hopper's detail upsampler (0: none)")
    ap.add_argument("--init", default=str(ROOT / "weights" / "prior128"),
                    help="the face prior to start from (its resolution, with a mask), or none")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each training clip")
    ap.add_argument("--facesets", type=Path, default=None, help="a folder holding a/ and b/ extracted before")
    ap.add_argument("--device", default="cpu", help="cpu (one thread), cuda, ...")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="keep clips/facesets/checkpoints here (resumable)")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-demo-train-"))
    start = time.perf_counter()
    faces = args.facesets or work / "faces"
    if args.facesets is None:
        from faceswap.demo import make_clips
        from faceswap.extract import extract

        if not (work / "clips" / "b.mp4").exists():
            make_clips(work / "clips", seconds=args.seconds, seed=100)
        for name in ("a", "b"):
            if not (faces / name / "alignments.json").exists():
                extract(work / "clips" / f"{name}.mp4", faces / name, force=True)
    prep = time.perf_counter() - start
    init = None if args.init.lower() == "none" else Path(args.init)
    summary = train_demo_model(faces / "a", faces / "b", work / "model", args.iterations, seed=args.seed,
                               nowarp=args.nowarp_iterations, device=args.device, mask=init is not None, init=init,
                               threads=1 if args.device == "cpu" else None)
    refined = None
    if args.refine_iterations:
        from faceswap.train.refine import refine

        refined = refine(work / "model", identity="b", steps=args.refine_iterations, device=args.device,
                         progress=False)
    export_compact(work / "model", args.out)
    total = time.perf_counter() - start
    print(f"clips + extraction: {prep:.0f} s; training {summary.step - summary.start_step} iterations at "
          f"{summary.resolution} px: {summary.seconds:.0f} s ({summary.examples_per_s:.1f} faces/s) on {args.device}")
    print(f"losses first {summary.first} -> last {summary.last}")
    if refined:
        print(f"detail upsampler of b: {refined['step']} steps in {refined['seconds']:.0f} s, losses {refined['loss']}")
    print(f"wrote {args.out} in {total / 60:.1f} min")


if __name__ == "__main__":
    main()
