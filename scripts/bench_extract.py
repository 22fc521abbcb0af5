"""Benchmark `faceswap extract` against the naive extractor, and check its memory.

    python scripts/bench_extract.py [--baseline-frames 60] [--threads N]

For s18.mp4 (1280x720) and d6.mp4 (480x480, 1008 frames):
- extract: `faceswap.extract.extract` with its defaults (downscaled detection,
  tracking, re-detection every 25 frames), the whole clip, PNGs written;
- baseline: full-frame, full-size MTCNN on every frame, then the same
  alignment and PNG encoding, on the first --baseline-frames frames (a subset
  to save time: its per-frame cost does not depend on the position in the clip);
- fps of both (model loading excluded from both), their ratio, and the mean
  distance between the two's landmarks on the baseline frames, as a fraction
  of the face size (box side);
- on d6: frames with exactly one face, and the mean distance of the aligned
  landmarks from the template as a fraction of the crop size.
Peak memory (ru_maxrss) of extract on d6 (1008 frames) and d20 (175 frames),
each in its own subprocess.

Cost without faces and latency of faces that appear, on clips built from
s18's first 124 frames (720p): "no face": the face region blurred out in
frames 0-61, the face back from frame 62; "enters": a second face (d20, 200
px) pasted in from frame 62, tracked with max_faces=0. Reported: tracker fps
on the face-less part (with scan_every=5, the default, and scan_every=1, the
old behaviour of a full detection on every face-less frame), and frames from
a face's appearance to the frame it is first reported (0 = at once). s18's
extract fps with --rotate off beside the default (auto) gives rotation's cost. Other processes may load the same CPU: the load
average is printed with the figures. Figures print last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "data" / "faces"


def run_extract(clip: Path, out: Path, rotate: bool = True) -> dict:
    """One extract run (meant for a fresh subprocess): fps, counts, peak RSS."""
    from faceswap.extract import extract

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    summary = extract(clip, out, force=True, progress=False, rotate=rotate)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)  # includes the model load
    return {
        "cpu_ms_per_frame": 1000 * cpu / max(summary.frames_processed, 1),
        "fps": summary.fps, "frames": summary.frames_processed, "faces": summary.faces_written,
        "without_face": summary.frames_without_face, "full_detections": summary.full_detections,
        "seconds": summary.seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child(clip: Path, out: Path, threads: int | None, rotate: bool = True) -> dict:
    cmd = [sys.executable, __file__, "--child", str(clip), str(out)] + ([] if rotate else ["--no-rotate"])
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed on {clip}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline(clip: Path, frames: int) -> tuple[float, dict[int, np.ndarray], dict[int, float]]:
    """Naive extraction: full MTCNN on every full-size frame + align + PNG encode.
    Returns (fps, landmarks per frame, face size per frame)."""
    import cv2

    from faceswap.extract.align import align
    from faceswap.extract.detect import Detector
    from faceswap.extract.track import select_faces
    from faceswap.video import FrameReader

    detector = Detector(device="cpu", detect_size=0)
    landmarks, sizes = {}, {}
    start = time.perf_counter()
    for frame in itertools.islice(FrameReader(clip), frames):
        faces = select_faces(detector.detect([frame.image])[0], 1, 40, 0.9)
        if len(faces):
            crop, _ = align(frame.image, faces.landmarks[0], 256, 0.75)
            cv2.imencode(".png", crop[:, :, ::-1])
            landmarks[frame.index], sizes[frame.index] = faces.landmarks[0], float(faces.sizes[0])
    return frames / (time.perf_counter() - start), landmarks, sizes


def compare(out: Path, base: dict[int, np.ndarray], sizes: dict[int, float]) -> float:
    from faceswap.extract.faceset import Alignments

    al = Alignments.load(out)
    dists = [np.linalg.norm(np.asarray(al.frames[k][0]["landmarks"]) - lm, axis=1).mean() / sizes[k]
             for k, lm in base.items() if al.frames.get(k)]
    return float(np.mean(dists))


def d6_quality(out: Path) -> tuple[float, float]:
    from faceswap.extract.align import template_points
    from faceswap.extract.faceset import Alignments, landmarks_in_crop

    al = Alignments.load(out)
    one = sum(len(v) == 1 for v in al.frames.values()) / len(al.frames)
    target = template_points(al.size, al.coverage)
    err = np.mean([np.linalg.norm(landmarks_in_crop(f) - target, axis=1).mean() / al.size for _, f in al.faces()])
    return one, float(err)


ENTER = 62  # not on the 5-frame scan grid: the delay shows the bound, not a lucky phase


def make_clips(tmp: Path, s18_faces: Path) -> tuple[Path, Path]:
    """(no-face clip, second-face clip) from s18's first 120 frames; see the module docstring."""
    import av
    import cv2

    from faceswap.extract.faceset import Alignments
    from faceswap.video import FrameReader

    al = Alignments.load(s18_faces)
    guest = next(iter(FrameReader(FACES / "d20.mp4"))).image
    guest = cv2.resize(guest, (200, 200), interpolation=cv2.INTER_AREA)
    paths = (tmp / "noface.mp4", tmp / "enters.mp4")
    outs = [av.open(str(p), "w") for p in paths]
    streams = []
    for out in outs:
        st = out.add_stream("libx264", rate=30)
        st.width, st.height, st.pix_fmt, st.options = 1280, 720, "yuv420p", {"preset": "ultrafast", "crf": "18"}
        streams.append(st)
    for frame in itertools.islice(FrameReader(FACES / "s18.mp4"), 2 * ENTER):
        hidden, entered = frame.image.copy(), frame.image.copy()
        if frame.index < ENTER:
            for face in al.frames.get(frame.index, []):
                x1, y1, x2, y2 = face["box"]
                w, h = x2 - x1, y2 - y1
                xa, ya, xb, yb = (int(max(0, v)) for v in (x1 - w, y1 - h, x2 + w, y2 + h))
                hidden[ya:yb, xa:xb] = cv2.GaussianBlur(hidden[ya:yb, xa:xb], (0, 0), 25)
        else:
            entered[260:460, 60:260] = guest
        for out, st, image in zip(outs, streams, (hidden, entered)):
            for packet in st.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
    for out, st in zip(outs, streams):
        for packet in st.encode():
            out.mux(packet)
        out.close()
    return paths


def track_run(clip: Path, max_faces: int, want: int, scan_every: int = 5) -> dict:
    """Tracker fps before and after frame ENTER, and frames until `want` faces are reported."""
    from faceswap.extract.detect import Detector
    from faceswap.extract.track import Tracker
    from faceswap.video import FrameReader

    tracker = Tracker(Detector(device="cpu"), max_faces=max_faces, scan_every=scan_every, rotate=True)
    times, counts, chunk = {True: 0.0, False: 0.0}, [], []
    frames = {True: 0, False: 0}
    start = time.perf_counter()
    for frame in FrameReader(clip):
        chunk.append(frame.image)
        if len(chunk) == 8:
            counts += [len(f) for f in tracker.process(chunk)]
            now = time.perf_counter()
            before = len(counts) <= ENTER
            times[before] += now - start
            frames[before] += len(chunk)
            start, chunk = time.perf_counter(), []
    found = next((i for i in range(ENTER, len(counts)) if counts[i] >= want), None)
    return {"fps_before": frames[True] / max(times[True], 1e-9), "fps_after": frames[False] / max(times[False], 1e-9),
            "delay": None if found is None else found - ENTER,
            "before_ok": all(c == want - 1 for c in counts[:ENTER]) if want > 1 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--child", nargs=2, metavar=("CLIP", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--no-rotate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(run_extract(Path(args.child[0]), Path(args.child[1]), rotate=not args.no_rotate)))
        return
    if not FACES.is_dir():
        raise SystemExit(f"{FACES}: the shared face clips are missing")
    load0 = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("s18", "d6", "d20"):
            clip, out = FACES / f"{name}.mp4", Path(tmp) / name
            print(f"extract {name} ...", file=sys.stderr, flush=True)
            results[name] = child(clip, out, args.threads)
            print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
            if name == "s18":
                results["s18_norotate"] = child(clip, Path(tmp) / "s18_off", args.threads, rotate=False)
                print(f"  s18 --rotate off: {results['s18_norotate']}", file=sys.stderr, flush=True)
                noface, enters = make_clips(Path(tmp), out)
                results["noface"] = track_run(noface, 1, 1)
                results["noface_old"] = track_run(noface, 1, 1, scan_every=1)
                results["enters"] = track_run(enters, 0, 2)
                print(f"  no face / enters: {results['noface']} {results['noface_old']} {results['enters']}",
                      file=sys.stderr, flush=True)
            if name == "d20":
                continue
            print(f"baseline {name} ({args.baseline_frames} frames) ...", file=sys.stderr, flush=True)
            fps, lms, sizes = baseline(clip, args.baseline_frames)
            results[name].update(baseline_fps=fps, landmark_dist=compare(out, lms, sizes))
            if name == "d6":
                results[name]["one_face"], results[name]["template_err"] = d6_quality(out)
            print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()

    print(f"\ntorch threads {torch.get_num_threads()}, cpu cores {os.cpu_count()}, "
          f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end (other processes share the CPU)")
    print(f"baseline = full-frame MTCNN on every frame, first {args.baseline_frames} frames; extract = whole clip")
    for name in ("s18", "d6"):
        r = results[name]
        print(f"{name}: extract {r['fps']:.1f} fps ({r['frames']} frames, {r['full_detections']} full detections, "
              f"{r['faces']} faces) | baseline {r['baseline_fps']:.2f} fps | ratio {r['fps'] / r['baseline_fps']:.1f}x | "
              f"landmarks vs baseline {100 * r['landmark_dist']:.2f}% of face size | extract CPU time "
              f"{r['cpu_ms_per_frame']:.1f} ms/frame (all threads, model load included)")
    s18, off, nf, old, en = (results[k] for k in ("s18", "s18_norotate", "noface", "noface_old", "enters"))
    print(f"s18 720p face clip: {s18['fps']:.1f} fps with --rotate auto, {off['fps']:.1f} fps with --rotate off "
          f"(rotation costs {100 * (1 - s18['fps'] / off['fps']):+.1f}%)")
    print(f"no-face 720p (s18, face blurred): {nf['fps_before']:.1f} fps (scan every 5) vs {old['fps_before']:.1f} fps "
          f"(detection on every frame) | {nf['fps_before'] / s18['fps']:.2f}x the face clip | face found "
          f"{nf['delay']} frames after it appears (bound 4)")
    print(f"second face entering (max_faces 0): found {en['delay']} frames after it appears (bound 4); "
          f"tracking fps {en['fps_before']:.1f} before, {en['fps_after']:.1f} with two faces")
    d6, d20 = results["d6"], results["d20"]
    print(f"d6: one face in {100 * d6['one_face']:.2f}% of {d6['frames']} frames; aligned landmarks "
          f"{100 * d6['template_err']:.2f}% of crop size from the template")
    print(f"peak memory: d6 ({d6['frames']} frames) {d6['maxrss_mb']:.0f} MB, d20 ({d20['frames']} frames) "
          f"{d20['maxrss_mb']:.0f} MB, ratio {d6['maxrss_mb'] / d20['maxrss_mb']:.3f}")


if __name__ == "__main__":
    main()
