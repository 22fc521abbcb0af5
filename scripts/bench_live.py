"""Benchmark `faceswap live` on a real clip played at its own frame rate (the
test source: there is no camera here), at 640x480.

Figures (printed last), per route: frames shown per second, latency from a
frame's arrival to its swapped frame (median and 95th percentile), frames
dropped. Routes: live with the model directory through torch in fp32, in bf16
(on CPUs with native bf16) and with --backend auto (the fastest of those and
ONNX Runtime, timed at start), live with the same model exported to ONNX
(ONNX Runtime), each with and without the detail
upsampler; and the baseline in the same run: the same work done frame by frame
in order with nothing dropped (a queue), whose latency grows with the clip.

    python scripts/bench_live.py [--model weights/demo] [--clip ../shared/data/faces/s18.mp4] [--frames 240]

Wall-clock figures depend on what else runs on the machine (the load average
is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "data" / "faces"


def clip_640x480(src: Path, dst: Path, frames: int) -> float:
    """The first `frames` frames of `src`, centre-cropped to 4:3 and resized to 640x480. Returns its fps."""
    with av.open(str(src)) as c:
        rate = c.streams.video[0].average_rate
        images = []
        for f in c.decode(video=0):
            img = f.to_ndarray(format="rgb24")
            h, w = img.shape[:2]
            cw = min(w, h * 4 // 3)
            ch = cw * 3 // 4
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            images.append(cv2.resize(img[y0:y0 + ch, x0:x0 + cw], (640, 480), interpolation=cv2.INTER_AREA))
            if len(images) >= frames:
                break
    with av.open(str(dst), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        for im in images:
            for p in s.encode(av.VideoFrame.from_ndarray(im, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return float(rate)


def sequential(clip: Path, model: Path, detail: bool) -> dict:
    """Every frame swapped in arrival order, nothing dropped: latency = finish - arrival."""
    import torch

    from faceswap.convert.blend import paste_face
    from faceswap.convert.live import _renderer
    from faceswap.convert.masks import MaskMaker
    from faceswap.extract.detect import Detector
    from faceswap.extract.track import Tracker
    from faceswap.video import FrameReader

    torch.set_num_threads(1)
    renderer, has_mask, _ = _renderer(model, None, detail, torch.device("cpu"), backend="torch")
    masks = MaskMaker("learned" if has_mask else "face", renderer.paste_size, renderer.template)
    tracker = Tracker(Detector(device="cpu"), max_faces=0)
    reader = FrameReader(clip)
    fps = reader.info.fps
    lat = []
    t0 = time.monotonic()
    n = 0
    for frame in reader:
        arrival = t0 + frame.index / fps
        while time.monotonic() < arrival:
            time.sleep(0.001)
        faces = [renderer.crop(frame.image, lm) for lm in tracker.process([frame.image])[0].landmarks]
        for (m, orig, _), (face, learned) in zip(faces, renderer.swap([x for _, _, x in faces])):
            paste_face(frame.image, face, orig, masks(learned), m, color="reinhard", sharpen=0.0, blend="alpha")
        lat.append((time.monotonic() - arrival) * 1000)
        n += 1
    seconds = time.monotonic() - t0
    return {"fps": n / seconds, "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "dropped": 0, "last": lat[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "weights" / "demo")
    ap.add_argument("--clip", type=Path, default=FACES / "s18.mp4")
    ap.add_argument("--frames", type=int, default=240)
    args = ap.parse_args()
    if not args.clip.is_file():
        sys.exit(f"{args.clip}: not found (the shared development videos)")
    from faceswap.convert.export import export
    from faceswap.convert.faces import cpu_bf16_supported
    from faceswap.convert.live import live

    work = Path(tempfile.mkdtemp(prefix="bench_live_"))
    clip = work / "clip_640x480.mp4"
    fps = clip_640x480(args.clip, clip, args.frames)
    rows = []
    for detail in (True, False):
        graph = export(args.model, work / f"m{int(detail)}.onnx", detail=detail).output
        routes = [("torch fp32", args.model, "torch")]
        if cpu_bf16_supported():
            routes.append(("torch bf16", args.model, "bf16"))
        routes += [("auto (fastest, timed)", args.model, "auto"), ("exported onnx", graph, "auto")]
        for name, model, backend in routes:
            s = live(clip, model, detail=detail, backend=backend, progress=False)
            rows.append((f"live, {name}, detail {'on' if detail else 'off'}", s.fps, s.latency(50), s.latency(95),
                         f"{s.dropped}/{s.frames_in}"))
        b = sequential(clip, args.model, detail)
        rows.append((f"baseline: in order, no drops, torch, detail {'on' if detail else 'off'}", b["fps"], b["p50"],
                     b["p95"], f"0/{args.frames} (last frame {b['last']:.0f} ms late)"))
    print(f"\nclip: {args.clip.name} as 640x480, {args.frames} frames at {fps:g} fps; model {args.model}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'route':58s} {'fps':>6s} {'p50 ms':>8s} {'p95 ms':>8s}  dropped")
    for name, f, p50, p95, dropped in rows:
        print(f"{name:58s} {f:6.1f} {p50:8.0f} {p95:8.0f}  {dropped}")


if __name__ == "__main__":
    main()
