"""Convert the two real webcam clips with a hand in front of the face, with and without
occlusion, and write the chosen covered frames and the README's picture.

    python scripts/figure_occlusion.py                      # weights/demo, /tmp/occl_frames
    python scripts/figure_occlusion.py --model models/a2b --out /tmp/frames

Clips: ../shared/data/occlusion/ (README there): webcam_hand_chin.mp4 (frames
1050-1309: a hand on the jaw and cheek, then on the chin and mouth corner) and
webcam_hand_glasses.mp4 (all 58 frames: spectacles throughout, a fast hand at
17-23 and 29-34). Each is converted with convert's defaults (detection and
tracking, occlusion on) and with --no-occlusion. Writes, per chosen frame,
<clip>_<frame>.png (input | without occlusion | with occlusion, full size) and
weights/occluder/covered_frames.jpg (three of them, stacked, 1200 px wide). Prints the faces
swapped and the frames where the face was held through cover.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLIPS = ROOT.parent / "shared" / "data" / "occlusion"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from faceswap.convert import convert  # noqa: E402
from faceswap.video import FrameReader, VideoWriter  # noqa: E402

CHOSEN = {"webcam_hand_chin": (1050, 1310, [1060, 1110, 1150, 1180, 1220, 1260, 1290]),
          "webcam_hand_glasses": (0, 58, [5, 18, 20, 22, 31, 33, 50])}
FIGURE = [("webcam_hand_glasses", 20), ("webcam_hand_glasses", 31), ("webcam_hand_chin", 1110)]
WIDTH = 1200


def cut(src: Path, dst: Path, start: int, stop: int) -> list[np.ndarray]:
    """Frames [start, stop) of `src` written to `dst` (H.264, no audio); returns them."""
    reader = FrameReader(src, start=start)
    frames = []
    with VideoWriter(dst, reader.info.rate, reader.info.width, reader.info.height, preset="ultrafast") as w:
        for f in reader:
            if f.index >= stop:
                break
            w.write(f.image)
            frames.append(f.image)
    return [f.image for f in FrameReader(dst)]


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_figure(rows: list[np.ndarray], path: Path) -> None:
    """Rows (input | without | with, RGB) scaled to WIDTH and stacked, as a JPEG (quality 90)."""
    rows = [cv2.resize(r, (WIDTH, int(round(r.shape[0] * WIDTH / r.shape[1]))), interpolation=cv2.INTER_AREA)
            for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(rows, 0)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "weights" / "demo")
    ap.add_argument("--out", type=Path, default=Path("/tmp/occl_frames"))
    ap.add_argument("--figure", type=Path, default=ROOT / "weights" / "occluder" / "covered_frames.jpg")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="faceswap-occl-fig-"))
    panels = {}
    for name, (start, stop, chosen) in CHOSEN.items():
        clip = work / f"{name}.mp4"
        frames = cut(CLIPS / f"{name}.mp4", clip, start, stop)
        outs = {}
        for on in (True, False):
            out = work / f"{name}_{'on' if on else 'off'}.mp4"
            s = convert(clip, args.model, out, occlusion=on, force=True, progress=False)
            outs[on] = [f.image for f in FrameReader(out)]
            print(f"{name} occlusion {'on ' if on else 'off'}: {s}")
        for k in chosen:
            i = k - start
            row = np.concatenate([label(frames[i], f"input {k}"), label(outs[False][i], "--no-occlusion"),
                                  label(outs[True][i], "occlusion (default)")], 1)
            cv2.imwrite(str(args.out / f"{name}_{k}.png"), row[:, :, ::-1])
            panels[(name, k)] = row
    write_figure([panels[key] for key in FIGURE], args.figure)
    print(f"wrote {len(panels)} frames to {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
