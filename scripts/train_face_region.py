"""Train the shipped face-region model (weights/face_region) on labels made without drawing.

    python scripts/train_face_region.py                      # one CPU thread, ~15 minutes
    python scripts/train_face_region.py --facesets /tmp/fs   # 128 px facesets, one per clip

Extracts every third frame of the clips in ../shared/data/faces at 128 px,
except d6 and d10 (the pair the tests and benchmarks measure on: the model
never sees those people), labels every face with `faceswap.train.region`
(Face Mesh outline refined by GrabCut: no hand-drawn masks), and fits the
small U-Net on them. Then scores the model against the same labelling on
d6 and d10 (IoU, mean over faces; the labels are GrabCut's, so this says how
well the network learnt the labelling on unseen people, not the truth), and
exports compact weights. Prints the figures last.
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

import numpy as np  # noqa: E402
import torch  # noqa: E402

from faceswap.train.checkpoint import export_compact  # noqa: E402
from faceswap.train.occluder import load_faces  # noqa: E402
from faceswap.train.region import region_labels, train_face_region  # noqa: E402

HELD_OUT = ("d6", "d10")


def facesets(work: Path, every: int, names) -> list[Path]:
    from faceswap.extract import extract

    if not FACES.is_dir():
        sys.exit(f"{FACES}: the shared face videos are needed (or pass --facesets)")
    out = []
    for name in names:
        folder = work / "faces" / name
        if not (folder / "alignments.json").is_file():
            extract(FACES / f"{name}.mp4", folder, size=128, every=every, force=True, progress=False)
        out.append(folder)
    return out


def labelled(folders: list[Path], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    if cache.is_file():
        data = np.load(cache)
        return data["faces"], data["labels"]
    faces = load_faces(folders)
    labels = region_labels(faces)
    np.savez_compressed(cache, faces=faces, labels=labels)
    return faces, labels


def iou(net, faces: np.ndarray, labels: np.ndarray) -> float:
    import cv2

    r = net.resolution
    small = np.stack([cv2.resize(f, (r, r), interpolation=cv2.INTER_AREA) for f in faces])
    with torch.inference_mode():
        z = net.logits(torch.from_numpy(small).permute(0, 3, 1, 2).float() / 255)[:, 0].numpy()
    scores = []
    for logit, label in zip(z, labels):
        pred = cv2.resize(logit, label.shape[::-1], interpolation=cv2.INTER_LINEAR) > 0
        truth = label > 0
        scores.append((pred & truth).sum() / max((pred | truth).sum(), 1))
    return float(np.mean(scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "face_region")
    ap.add_argument("--work", type=Path, default=None, help="keep facesets, labels and the checkpoint here")
    ap.add_argument("--facesets", type=Path, default=None, help="a folder of 128 px facesets, one per clip")
    ap.add_argument("--every", type=int, default=3, help="extract every Nth frame")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--time", type=float, default=15 * 60, help="stop after this many seconds of training")
    ap.add_argument("--batch-size", type=int, default=24)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="faceswap-region-"))
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    names = sorted(p.stem for p in FACES.glob("*.mp4"))
    if args.facesets:
        folders = {p.name: p for p in args.facesets.iterdir() if (p / "alignments.json").is_file()}
    else:
        folders = dict(zip(names, facesets(work, args.every, names)))
    train_dirs = [folders[n] for n in sorted(folders) if n not in HELD_OUT]
    faces, labels = labelled(train_dirs, work / "labels_train.npz")
    held = [folders[n] for n in HELD_OUT if n in folders]
    print(f"{len(faces)} labelled faces of {', '.join(d.name for d in train_dirs)} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    result = train_face_region(faces, labels, work / "model", resolution=args.resolution, steps=args.steps,
                               batch_size=args.batch_size, time=args.time, device=args.device, progress=False)
    export_compact(work / "model", args.out)
    from faceswap.models import load_model

    net = load_model(args.out).eval()
    size = (args.out / "model.safetensors").stat().st_size
    print(f"{result['step']} steps of {args.batch_size} in {result['seconds'] / 60:.1f} min; "
          f"loss {result['loss'][0]:.4f} -> {result['loss'][1]:.4f} (mean of the first / last 50 steps)")
    print(f"IoU with the labelling, training faces: {iou(net, faces[::7], labels[::7]):.3f}")
    if held:
        hf, hl = labelled(held, work / "labels_held.npz")
        print(f"IoU with the labelling, {' and '.join(d.name for d in held)} (never seen): {iou(net, hf, hl):.3f}")
    print(f"wrote {args.out} ({size / 1024:.0f} KiB) in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
