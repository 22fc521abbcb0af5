"""Train the shipped occlusion model (weights/occluder) on synthetic cover over the shared face videos.

    python scripts/train_occluder.py                          # one CPU thread, ~25 minutes
    python scripts/train_occluder.py --time 60 --out /tmp/occ --work /tmp/occ-work

Extracts every third frame of the clips in ../shared/data/faces at 128 px,
except d6 and d10 (the pair the tests and benchmarks measure on: the model
must never have seen those people). The faces that carry the cover are the
clips' people without glasses (d9 and d12 wear them, and their frames would
teach that a glasses rim is face; they still give skin for the hands). The
cover is `faceswap.train.cover` (random textured shapes, skin-toned hands,
lines and rims; the "card" kind and the coffee texture are held out for the
tests). Exports compact weights (faceswap.models.compact) without the
optimizer state, and prints the time and losses last.
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

import torch  # noqa: E402

from faceswap.train.checkpoint import export_compact  # noqa: E402
from faceswap.train.occluder import load_faces, train_occluder  # noqa: E402

EXCLUDE = ("d6", "d10")      # the test pair: never seen
NO_BASE = ("d9", "d12")      # glasses wearers: skin donors only


def facesets(work: Path, every: int) -> list[Path]:
    from faceswap.extract import extract  # needs the video stack

    if not FACES.is_dir():
        sys.exit(f"{FACES}: the shared face videos are needed (or pass --facesets)")
    out = []
    for clip in sorted(p for p in FACES.glob("*.mp4") if p.stem not in EXCLUDE):
        folder = work / "faces" / clip.stem
        if not (folder / "alignments.json").is_file():
            extract(clip, folder, size=128, every=every, force=True, progress=False)
        out.append(folder)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "occluder")
    ap.add_argument("--work", type=Path, default=None, help="keep facesets and the checkpoint here (resumable)")
    ap.add_argument("--facesets", type=Path, default=None, help="a folder of 128 px facesets, one per clip")
    ap.add_argument("--every", type=int, default=3, help="extract every Nth frame")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--time", type=float, default=25 * 60, help="stop after this many seconds of training")
    ap.add_argument("--batch-size", type=int, default=24)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clean", type=float, default=0.35, help="share of samples without cover")
    ap.add_argument("--init", type=Path, default=None, help="start from this occluder's weights (a second phase)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)

    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-occluder-"))
    start = time.perf_counter()
    folders = (sorted(p for p in args.facesets.iterdir() if (p / "alignments.json").is_file()
                      and p.name not in EXCLUDE) if args.facesets else facesets(work, args.every))
    base = [f for f in folders if f.name not in NO_BASE]
    faces, skin = load_faces(base), load_faces(folders)
    prep = time.perf_counter() - start
    print(f"{len(faces)} faces of {', '.join(f.name for f in base)} carry the cover; skin from {len(skin)} faces "
          f"({prep:.0f} s)", flush=True)
    result = train_occluder(faces, work / "model", skin=skin, resolution=args.resolution, steps=args.steps,
                            batch_size=args.batch_size, lr=args.lr, clean=args.clean, init=args.init,
                            time=args.time, seed=args.seed, device=args.device,
                            progress=False)
    export_compact(work / "model", args.out)
    size = (args.out / "model.safetensors").stat().st_size
    print(f"{result['step']} steps of {args.batch_size} in {result['seconds'] / 60:.1f} min; "
          f"loss {result['loss'][0]:.4f} -> {result['loss'][1]:.4f} (mean of the first / last 50 steps)")
    print(f"wrote {args.out} ({size / 1024:.0f} KiB) in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
