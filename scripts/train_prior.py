"""Train the shipped face prior (weights/prior) from the shared face videos.

    python scripts/train_prior.py                       # writes weights/prior/
    python scripts/train_prior.py --iterations 300 --out /tmp/prior --work /tmp/prior-work

Extracts every clip of ../shared/data/faces except the excluded pair (default
d6 and d10, the pair scripts/bench_quality.py tests on: a prior must never have
seen the people it is measured on), pretrains the `lightweight` preset with a
mask on one CPU thread (`faceswap pretrain`), and exports the weights in
float16 without the optimizer state. Prints the time and losses last.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FACES = ROOT.parent / "shared" / "data" / "faces"

from faceswap.extract import extract  # noqa: E402
from faceswap.train.pretrain import pretrain  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from train_demo import export_half  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "prior")
    ap.add_argument("--work", type=Path, default=None, help="keep facesets and checkpoints here (resumable)")
    ap.add_argument("--exclude", nargs="+", default=["d6", "d10"], help="clips (people) the prior must not see")
    ap.add_argument("--iterations", type=int, default=4890)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not FACES.is_dir():
        sys.exit(f"{FACES}: the shared face videos are needed")

    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-prior-"))
    start = time.perf_counter()
    clips = sorted(p for p in FACES.glob("*.mp4") if p.stem not in set(args.exclude))
    facesets = []
    for clip in clips:
        folder = work / "faces" / clip.stem
        if not (folder / "alignments.json").is_file():
            extract(clip, folder, force=True, progress=False)
        facesets.append(folder)
    prep = time.perf_counter() - start
    summary = pretrain(facesets, work / "model", iterations=args.iterations, preset="lightweight", mask=True,
                       seed=args.seed, device="cpu", threads=1, progress=False)
    export_half(work / "model", args.out)
    print(f"{len(facesets)} people ({', '.join(c.stem for c in clips)}); extraction {prep:.0f} s")
    print(summary.describe())
    print(f"wrote {args.out} in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
