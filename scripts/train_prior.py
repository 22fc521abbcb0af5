"""Train a shipped face prior (weights/prior, weights/prior128) from the shared face videos.

    python scripts/train_prior.py                       # weights/prior/: lightweight, 64 px, one CPU thread
    python scripts/train_prior.py --resolution 128 --device cuda --batch-size 16 --iterations 20000
    python scripts/train_prior.py --iterations 300 --out /tmp/prior --work /tmp/prior-work

Extracts every clip of ../shared/data/faces except the excluded pair (default
d6 and d10, the pair scripts/bench_quality.py tests on: a prior must never have
seen the people it is measured on), pretrains the preset with a mask
(`faceswap pretrain`), and exports compact weights (faceswap.models.compact)
without the optimizer state. `--facesets DIR` uses facesets extracted before (one folder
per person, named like the clips) instead of extracting. `--snapshots` also
exports copies at earlier step counts (OUT@STEP), to compare prior lengths
from one run. Prints the time and losses last.
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

from faceswap.train.checkpoint import export_compact  # noqa: E402
from faceswap.train.presets import PRESETS  # noqa: E402
from faceswap.train.pretrain import pretrain  # noqa: E402


def facesets_from_clips(work: Path, exclude: set[str]) -> list[Path]:
    from faceswap.extract import extract  # needs the video stack; not when facesets are given

    if not FACES.is_dir():
        sys.exit(f"{FACES}: the shared face videos are needed (or pass --facesets)")
    folders = []
    for clip in sorted(p for p in FACES.glob("*.mp4") if p.stem not in exclude):
        folder = work / "faces" / clip.stem
        if not (folder / "alignments.json").is_file():
            extract(clip, folder, force=True, progress=False)
        folders.append(folder)
    return folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="default weights/prior (64 px) or weights/prior<RES>")
    ap.add_argument("--work", type=Path, default=None, help="keep facesets and checkpoints here (resumable)")
    ap.add_argument("--facesets", type=Path, default=None, help="a folder of facesets, one per person")
    ap.add_argument("--exclude", nargs="+", default=["d6", "d10"], help="clips (people) the prior must not see")
    ap.add_argument("--preset", default="lightweight", choices=list(PRESETS))
    ap.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    ap.add_argument("--iterations", type=int, default=4890)
    ap.add_argument("--snapshots", type=int, nargs="*", default=[], help="also export at these steps (OUT@STEP)")
    ap.add_argument("--time", type=float, default=None, help="stop after this many wall seconds in all")
    ap.add_argument("--batch-size", type=int, default=None, help="faces per decoder per step (default: the preset's)")
    ap.add_argument("--device", default="cpu", help="cpu (one thread), cuda, ...")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    res = args.resolution or PRESETS[args.preset].resolution
    out = args.out or ROOT / "weights" / ("prior" if res == 64 else f"prior{res}")
    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-prior-"))
    start = time.perf_counter()
    exclude = set(args.exclude)
    if args.facesets:
        facesets = sorted(p for p in args.facesets.iterdir()
                          if (p / "alignments.json").is_file() and p.name not in exclude)
    else:
        facesets = facesets_from_clips(work, exclude)
    if len(facesets) < 2:
        sys.exit("need the facesets of two or more people")
    prep = time.perf_counter() - start

    summary = None
    for target in sorted({s for s in args.snapshots if s < args.iterations} | {args.iterations}):
        left = None if args.time is None else args.time - (time.perf_counter() - start)
        if left is not None and left <= 0:
            break
        summary = pretrain(facesets, work / "model", iterations=target, preset=args.preset, resolution=res, mask=True,
                           batch_size=args.batch_size, seed=args.seed, device=args.device,
                           threads=1 if args.device == "cpu" else None, time=left, progress=False,
                           preview_every=1000, save_every=2000)
        final = target == args.iterations or summary.step < target  # the last one, or out of time
        export_compact(work / "model", out if final else out.parent / f"{out.name}@{summary.step}")
        print(summary.describe(), flush=True)
        if final:
            break
    print(f"{len(facesets)} people ({', '.join(f.name for f in facesets)}); facesets ready in {prep:.0f} s")
    print(f"wrote {out} in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
