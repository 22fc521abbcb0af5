"""Latency of the Convert tab's live preview at 512x512 on this machine.

Measures the tab's own preview handler (faceswap.ui.tabs.convert.preview_image:
the root guard, the cached FramePreview, the model pass when needed, the
re-blend, the side-by-side picture) plus the JPEG encoding Gradio does before
the image reaches the browser. Median milliseconds from a setting change to
the new preview image, for:

  - settings that need a model pass (a new frame; the alignment smoothing),
    with the faces taken from the clip's faceset (the page picks it when one
    exists) and with detection on the frame (no faceset);
  - settings served from the cached swapped face (mask kind, erode, blur,
    colour, blend), each and all together.

Targets: < 1000 ms and < 300 ms. Data: the first frames of
../shared/data/faces/d10.mp4 (512x512, not in the repo). Model: weights/demo
(the shipped, trained lightweight model) unless --model is given.

    python scripts/bench_ui.py [--frames 60] [--model DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "faces"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=SHARED / "d10.mp4")
    ap.add_argument("--frames", type=int, default=60, help="frames cut from the start of the video")
    ap.add_argument("--model", type=Path, default=REPO / "weights" / "demo")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the page's workers share the CPU)")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    import shutil

    import numpy as np
    import torch
    from PIL import Image

    from faceswap.extract import extract
    from faceswap.ui.common import Context
    from faceswap.ui.jobs import Jobs
    from faceswap.ui.paths import Root
    from faceswap.ui.tabs.convert import preview_image
    from faceswap.video import cut_clip

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    try:
        cut_clip(args.video, root / "clip.mp4", args.frames)
        shutil.copytree(args.model, root / "model")
        extract(root / "clip.mp4", root / "faces", progress=False)
        ctx = Context(root=Root(root), jobs=Jobs(), device="cpu")

        def show(**change) -> float:
            """ms from a change to the encoded image the browser receives."""
            s = dict(video="clip.mp4", model="model", to=None, alignments="faces", frame=0, smooth=True,
                     mask="auto", erode=0.0, blur=5.0, color="reinhard", blend="alpha")
            s.update(change)
            t = time.perf_counter()
            image, _ = preview_image(ctx, *s.values())
            Image.fromarray(image).save(io.BytesIO(), format="JPEG", quality=90)
            return 1000 * (time.perf_counter() - t)

        show()  # load the model, compute the smoothed alignments: once per video and model
        show(alignments="(detect faces)")  # load the detector
        rng = np.random.default_rng(0)
        frames = rng.permutation(np.arange(1, args.frames))[: args.repeats]
        model_pass = {
            "frame (faceset)": [show(frame=int(f)) for f in frames],
            "smoothing (faceset)": [show(frame=int(f), smooth=False) for f in frames],
            "frame (detection)": [show(frame=int(f), alignments="(detect faces)") for f in frames],
        }
        show(frame=7)
        cached_settings = {
            "mask": [dict(mask=m) for m in ("face", "ellipse", "box", "auto")],
            "erode": [dict(erode=e) for e in (2.0, 5.0, -3.0, 0.0)],
            "blur": [dict(blur=b) for b in (2.0, 10.0, 15.0, 5.0)],
            "colour": [dict(color=c) for c in ("none", "mean", "hist", "reinhard")],
            "blend": [dict(blend=b) for b in ("poisson", "alpha")],
        }
        cached = {name: [show(frame=7, **c) for _ in range(max(1, args.repeats // len(changes))) for c in changes]
                  for name, changes in cached_settings.items()}
    finally:
        shutil.rmtree(root, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"\npreview latency at 512x512, {args.model.name} model, {args.threads} torch thread(s), "
          f"load average {load:.1f} on {os.cpu_count()} CPUs (median ms, [min-max]):")
    for name, times in {**model_pass, **cached}.items():
        print(f"  {name:22s} {statistics.median(times):7.1f}   [{min(times):.1f}-{max(times):.1f}]  n={len(times)}")
    worst_model = max(statistics.median(t) for t in model_pass.values())
    all_cached = [t for times in cached.values() for t in times]
    print(f"model-pass settings: worst median {worst_model:.0f} ms (target < 1000)")
    print(f"cached-face settings: median {statistics.median(all_cached):.0f} ms, worst setting median "
          f"{max(statistics.median(t) for t in cached.values()):.0f} ms (target < 300)")


if __name__ == "__main__":
    main()
