"""Benchmark `faceswap convert` on a 720p clip (s18) on this machine.

Figures (printed last):
  - fps of convert() with reused alignments (the lightweight preset model),
    and of convert() with detection + tracking (no alignments);
  - the occlusion model's cost: fps with reused alignments with occlusion on
    (the default when weights/occluder is installed) and off, alternated in
    the same run, and the occlusion model's own CPU ms per face against
    convert's CPU ms per frame (`--occlusion-only` measures just these);
  - fps of a naive baseline in the same run: full MTCNN detection on every
    frame, one face at a time through the model, no threads, cv2 'mp4v' writer;
    the ratio;
  - peak memory (max RSS of a fresh subprocess) converting a short and a long
    input (30 frames vs all 282 of s18 by default), and the part of it that is
    convert's own (above the RSS after imports and the model load);
  - flicker: mean absolute frame-to-frame change inside the face box, input
    vs output with smoothing on and off (lower is steadier).

    python scripts/bench_convert.py [--frames 120] [--model DIR] [--long ../shared/data/faces/d6.mp4]
    python scripts/bench_convert.py --backends-only --model weights/demo   # torch fp32/bf16 vs ONNX Runtime vs encode-only

Wall-clock figures depend on what else runs on the machine (the load average
is printed); CPU milliseconds per frame (all threads) do not, much, and give
a CPU-bound estimate for two idle cores.

Without --model an untrained lightweight model is built (speed does not depend
on the weights; the flicker figure then measures alignment jitter of a blurry
face rather than a trained one). Data: ../shared/data/faces (not in the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap.video import cut_clip as _video_cut_clip

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT.parent / "shared" / "data" / "faces"


def cut_clip(src: Path, dst: Path, frames: int | None) -> int:
    """Re-encode the first `frames` frames of `src` (all with None), copying
    the audio of that span. Returns the frame count."""
    return _video_cut_clip(src, dst, frames, preset="ultrafast")


def track_alignments(clip: Path, dst: Path) -> None:
    """alignments.json for `clip`: MTCNN on the first frame, O-net tracking after."""
    from faceswap.extract.detect import Detector
    from faceswap.video import FrameReader

    det = Detector(device="cpu")
    reader = FrameReader(clip)
    doc = {"version": 1, "source": str(clip), "width": reader.info.width, "height": reader.info.height,
           "fps": reader.info.fps, "frame_count": reader.info.frame_count, "size": 256, "coverage": 0.75,
           "frames": {}}
    last = None
    for frame in reader:
        faces = det.detect([frame.image])[0] if last is None else det.refine(frame.image, last.boxes)
        faces = faces.take(np.flatnonzero(faces.scores > 0.5)[:1])
        if len(faces) == 0:
            faces = det.detect([frame.image])[0].take(slice(0, 1))
        last = faces if len(faces) else None
        doc["frames"][str(frame.index)] = [{"box": b.tolist(), "score": float(s), "landmarks": lm.tolist()}
                                           for b, s, lm in zip(faces.boxes, faces.scores, faces.landmarks)]
    dst.write_text(json.dumps(doc))


def make_model(folder: Path) -> Path:
    import torch

    from faceswap.models import save_model
    from faceswap.models.swap import SwapAutoEncoder
    from faceswap.train.presets import model_config

    torch.manual_seed(0)
    save_model(SwapAutoEncoder(model_config("lightweight")), folder,
               extra={"faceswap": {"preset": "lightweight", "resolution": 64, "coverage": 0.75,
                                   "identities": ["a", "b"], "mask": False, "step": 0}})
    return folder


def naive(clip: Path, model_dir: Path, out: Path) -> tuple[int, float]:
    """The baseline: detect every frame, one face per model call, cv2 mp4v writer, one thread of work."""
    import torch

    from faceswap.convert.blend import crop, paste
    from faceswap.convert.color import correct_color
    from faceswap.convert.masks import MaskMaker
    from faceswap.extract.align import template_points, umeyama
    from faceswap.extract.detect import Detector
    from faceswap.train import load_swap_model

    model, meta = load_swap_model(model_dir, "cpu")
    size = model.resolution
    template = np.asarray(template_points(size, meta.get("coverage") or 0.75), np.float64)
    masks = MaskMaker("face", size, template)
    det = Detector(device="cpu", detect_size=None)  # full detection on the full frame
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    n = 0
    start = time.perf_counter()
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frame = np.ascontiguousarray(bgr[:, :, ::-1])
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        for lm in det.detect([frame])[0].landmarks:
            m = umeyama(lm.astype(np.float64), template)
            c = crop(frame, m, size)
            x = torch.from_numpy(c).permute(2, 0, 1)[None].float() / 255
            with torch.inference_mode():
                face, _ = model.swap(x, "b")
            face = (face[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
            mk = masks()
            paste(frame, correct_color(face, c, mk, "reinhard"), mk, m, "alpha")
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        n += 1
    writer.release()
    return n, time.perf_counter() - start


_MEMORY_CHILD = """
import json, resource, sys, threading, time
import torch
from faceswap.convert import convert
from faceswap.train import load_swap_model
torch.set_num_threads(2)
load_swap_model(sys.argv[2], "cpu")

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

before, during, done = rss(), [], threading.Event()
def sample():
    while not done.is_set():
        during.append(rss())
        time.sleep(0.05)
t = threading.Thread(target=sample, daemon=True)
t.start()
s = convert(sys.argv[1], sys.argv[2], sys.argv[3], alignments=sys.argv[4], force=True, progress=False)
done.set()
t.join()
half = len(during) // 2
print(json.dumps({"before": before, "during": max(during), "first_half": max(during[:half] or during),
                  "second_half": max(during[half:]), "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "frames": s.frames}))
"""


def peak_rss_mb(args: list[str]) -> dict:
    """Convert in a fresh subprocess: {"before": RSS (MB) after imports and the
    model load, "during": the highest RSS sampled every 50 ms while converting,
    "first_half"/"second_half": the highest in each half of the run (equal when
    memory is flat), "maxrss": the process's max RSS, "frames"}."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"memory run failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def flicker(video: Path, align: Path) -> float:
    """Mean |frame[t] - frame[t-1]| inside the face box of frame t (union with t-1's)."""
    doc = json.loads(align.read_text())
    prev, total, count = None, 0.0, 0
    with av.open(str(video)) as c:
        for i, f in enumerate(c.decode(video=0)):
            img = f.to_ndarray(format="rgb24").astype(np.int16)
            faces = doc["frames"].get(str(i), [])
            if prev is not None and faces:
                x1, y1, x2, y2 = (int(round(v)) for v in faces[0]["box"])
                y1, x1 = max(y1, 0), max(x1, 0)
                total += np.abs(img[y1:y2, x1:x2] - prev[y1:y2, x1:x2]).mean()
                count += 1
            prev = img
    return total / max(count, 1)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def timed(fn, *a, **k):
    """(result, wall seconds, process CPU seconds)."""
    c, w = cpu_seconds(), time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - w, cpu_seconds() - c


def landmark_jitter(align: Path, fps: float) -> tuple[float, float, float]:
    """Mean |second difference| of the first face's landmarks (px/frame^2), raw
    and through convert's One-Euro smoother, and the smoother's mean offset."""
    from faceswap.convert.smoothing import LandmarkSmoother

    doc = json.loads(align.read_text())
    keys = sorted((int(k) for k, v in doc["frames"].items() if v))
    lm = np.stack([np.asarray(doc["frames"][str(k)][0]["landmarks"], np.float64) for k in keys])
    sm = LandmarkSmoother(fps)
    out = np.stack([sm(k, [x])[0] for k, x in zip(keys, lm)])
    acc = lambda x: np.abs(np.diff(x, 2, axis=0)).mean()  # noqa: E731
    return acc(lm), acc(out), np.abs(out - lm).mean()


def occlusion_cost(convert, clip: Path, model: Path, align: Path, work: Path) -> dict:
    """fps and CPU ms/frame with occlusion on and off (two alternated runs each, the best
    kept), and the occlusion model's own CPU ms per face on this clip's crops."""
    import torch

    from faceswap.occlusion import OcclusionMasker, has_occluder, load_occluder

    if not has_occluder():
        return {}
    best: dict[bool, tuple] = {}
    for _ in range(2):
        for on in (True, False):
            s, wall, cpu = timed(convert, clip, model, work / f"out_occ_{on}.mp4", alignments=align, occlusion=on,
                                 progress=False, force=True)
            if on not in best or wall < best[on][0]:
                best[on] = (wall, cpu, s.frames)
    net, coverage = load_occluder()
    masker = OcclusionMasker(net, coverage, 256, 0.75, torch.device("cpu"))
    crops = [np.ascontiguousarray(f[:256, :256]) for f in _frames_of(clip, 32)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in convert's swap stage
    masker(crops[:4])
    _, _, cpu = timed(masker, crops)
    torch.set_num_threads(threads)
    return {"fps_on": best[True][2] / best[True][0], "fps_off": best[False][2] / best[False][0],
            "cpu_on": 1000 * best[True][1] / best[True][2], "cpu_off": 1000 * best[False][1] / best[False][2],
            "model_ms": 1000 * cpu / len(crops)}


def _frames_of(clip: Path, n: int) -> list[np.ndarray]:
    from faceswap.video import FrameReader

    return [f.image for f, _ in zip(FrameReader(clip), range(n))]


def print_occlusion(occ: dict, n: int, model, header: bool = True) -> None:
    if header:
        print(f"\nbench_convert (occlusion): s18 720p, {n} frames, {os.cpu_count()} CPU cores, model {model}, "
              f"load average {os.getloadavg()[0]:.1f}")
    if not occ:
        print("  occlusion: weights/occluder is not installed")
        return
    print(f"  convert, alignments, occlusion on  {occ['fps_on']:6.1f} fps   CPU {occ['cpu_on']:.0f} ms/frame; "
          f"off {occ['fps_off']:.1f} fps, CPU {occ['cpu_off']:.0f} ms/frame "
          f"(on costs {100 * (occ['cpu_on'] / occ['cpu_off'] - 1):+.1f} % CPU per frame)")
    print(f"  occlusion model alone: {occ['model_ms']:.1f} CPU ms per face (crop, 64 px U-Net, cover at 256 px) = "
          f"{100 * occ['model_ms'] / occ['cpu_on']:.1f} % of convert's CPU per frame (one face per frame; limit 15 %)")


def encode_only(clip: Path, out: Path) -> int:
    """What no convert can beat: decode the clip and encode it again as convert writes
    (PyAV, libx264 veryfast crf 18, the audio copied). Returns the frame count."""
    from faceswap.video import FrameReader, VideoWriter

    reader = FrameReader(clip)
    info = reader.info
    n = 0
    with VideoWriter(out, info.rate, info.width, info.height, audio_from=clip if info.has_audio else None,
                     time_base=info.time_base) as w:
        for frame in reader:
            w.write(frame.image, frame.time)
            n += 1
    return n


def backend_speed(convert, clip: Path, model: Path, align: Path, work: Path) -> list[tuple[str, float, float]]:
    """(route, fps, CPU ms/frame) of encode-only and of convert's route through torch fp32,
    torch bf16 (where the CPU has native bf16), ONNX Runtime and auto (the fastest of
    them, timed by convert itself), with reused alignments, and auto with detection, in one run."""
    from faceswap.convert.faces import cpu_bf16_supported

    rows = []
    (n, wall, cpu) = timed(encode_only, clip, work / "encode_only.mp4")
    rows.append(("decode + encode only (the ceiling)", n / wall, 1000 * cpu / n))
    backends = ["torch"] + (["bf16"] if cpu_bf16_supported() else []) + ["onnx", "auto"]
    for backend in backends:
        s, wall, cpu = timed(convert, clip, model, work / f"out_{backend}.mp4", alignments=align, backend=backend,
                             progress=False, force=True)
        rows.append((f"convert, alignments, {backend}", s.frames / wall, 1000 * cpu / s.frames))
    s, wall, cpu = timed(convert, clip, model, work / "out_auto_detect.mp4", backend="auto", progress=False,
                         force=True)
    rows.append(("convert, detection + tracking, auto", s.frames / wall, 1000 * cpu / s.frames))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120, help="frames of s18 to convert (282 = all)")
    ap.add_argument("--baseline-frames", type=int, default=40, help="frames for the slow naive baseline")
    ap.add_argument("--model", type=Path, default=None, help="model directory (default: untrained lightweight)")
    ap.add_argument("--long", type=Path, default=FACES / "s18.mp4", help="long input for the memory figure (all frames)")
    ap.add_argument("--short-frames", type=int, default=30)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--occlusion-only", action="store_true", help="only the occlusion on/off figures")
    ap.add_argument("--backends-only", action="store_true",
                    help="only convert's fps through torch and ONNX Runtime against decode + encode alone")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    from faceswap.convert import convert

    work = Path(tempfile.mkdtemp(prefix="bench_convert_"))
    model = args.model or make_model(work / "model")
    clip, align = work / "s18.mp4", work / "s18.json"
    n = cut_clip(FACES / "s18.mp4", clip, args.frames)
    track_alignments(clip, align)
    base_clip = work / "s18_base.mp4"
    cut_clip(FACES / "s18.mp4", base_clip, args.baseline_frames)

    fig: dict[str, float] = {}
    warm = work / "warm.mp4"  # first-call costs (imports, allocator, codec init) out of the timings
    cut_clip(FACES / "s18.mp4", warm, 10)
    convert(warm, model, work / "warm_out.mp4", progress=False)
    if args.backends_only:
        rows = backend_speed(convert, clip, model, align, work)
        print(f"\nbench_convert: s18 720p, {n} frames, model {args.model or 'untrained lightweight 64 px'}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, fps, cpu in rows:
            print(f"  {name:40s} {fps:6.1f} fps  {fps / rows[0][1]:5.2f}x of encode-only   CPU {cpu:.0f} ms/frame")
        return
    occ = occlusion_cost(convert, clip, model, align, work)
    if args.occlusion_only:
        print_occlusion(occ, n, args.model or "untrained lightweight 64 px")
        return
    runs = [timed(convert, clip, model, work / "out_align.mp4", alignments=align, progress=False, force=True)
            for _ in range(2)]
    s, wall, cpu = min(runs, key=lambda r: r[1])
    fig["fps_alignments"], fig["cpu_ms_alignments"] = s.frames / wall, 1000 * cpu / s.frames
    s_off, wall, _ = timed(convert, clip, model, work / "out_nosmooth.mp4", alignments=align, smooth=False,
                           progress=False)
    fig["fps_alignments_nosmooth"] = s_off.frames / wall
    s_det, wall, cpu = timed(convert, clip, model, work / "out_detect.mp4", progress=False)
    fig["fps_detect"], fig["cpu_ms_detect"] = s_det.frames / wall, 1000 * cpu / s_det.frames
    # the baseline gets the better of torch's default 2 threads and 1 thread
    best = None
    for threads in (2, 1):
        torch.set_num_threads(threads)
        (nb, _), wall, cpu = timed(naive, base_clip, model, work / "naive.mp4")
        if best is None or wall < best[0]:
            best = (wall, cpu, threads)
    fig["fps_naive"], fig["cpu_ms_naive"] = nb / best[0], 1000 * best[1] / nb
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    if not args.skip_memory:
        short, long_ = work / "short.mp4", work / "long.mp4"
        ns = cut_clip(args.long, short, args.short_frames)
        nl = cut_clip(args.long, long_, None)
        track_alignments(short, work / "short.json")
        track_alignments(long_, work / "long.json")
        mem_short = peak_rss_mb([str(short), str(model), str(work / "ms.mp4"), str(work / "short.json")])
        mem_long = peak_rss_mb([str(long_), str(model), str(work / "ml.mp4"), str(work / "long.json")])

    fig["flicker_input"] = flicker(clip, align)
    fig["flicker_smooth_on"] = flicker(work / "out_align.mp4", align)
    fig["flicker_smooth_off"] = flicker(work / "out_nosmooth.mp4", align)

    jit_raw, jit_smooth, lag = landmark_jitter(align, 30.0)
    print(f"\nbench_convert: s18 720p, {n} frames (baseline {nb}), {os.cpu_count()} CPU cores, "
          f"model {'untrained lightweight' if args.model is None else args.model}")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine slows every wall-clock figure)")
    print(f"  convert, reused alignments      {fig['fps_alignments']:6.1f} fps   CPU {fig['cpu_ms_alignments']:.0f} ms/frame "
          f"(smoothing off: {fig['fps_alignments_nosmooth']:.1f} fps)")
    print(f"  convert, detection + tracking   {fig['fps_detect']:6.1f} fps   CPU {fig['cpu_ms_detect']:.0f} ms/frame")
    print(f"  naive baseline ({best[2]} torch threads) {fig['fps_naive']:6.1f} fps   CPU {fig['cpu_ms_naive']:.0f} ms/frame")
    print(f"  ratio (alignments / naive)      {fig['fps_alignments'] / fig['fps_naive']:6.1f} x   (target >= 3x, >= 15 fps)")
    print(f"  ratio (detection / naive)       {fig['fps_detect'] / fig['fps_naive']:6.1f} x")
    print(f"  CPU-bound upper bound on 2 idle cores (2000 / CPU ms): alignments {2000 / fig['cpu_ms_alignments']:.1f} fps, "
          f"detection {2000 / fig['cpu_ms_detect']:.1f} fps, naive {2000 / fig['cpu_ms_naive']:.1f} fps")
    print_occlusion(occ, n, model, header=False)
    if not args.skip_memory:
        print(f"  memory (RSS, MB): short ({ns} frames) {mem_short['before']:.0f} before -> {mem_short['during']:.0f} peak "
              f"while converting; long ({nl} frames, {args.long.name}) {mem_long['before']:.0f} -> {mem_long['during']:.0f} "
              f"(first half {mem_long['first_half']:.0f}, second half {mem_long['second_half']:.0f}); "
              f"process max RSS {mem_short['maxrss']:.0f} / {mem_long['maxrss']:.0f}")
    print(f"  flicker (mean |dframe| in face box): input {fig['flicker_input']:.2f}, "
          f"output smoothing on {fig['flicker_smooth_on']:.2f}, off {fig['flicker_smooth_off']:.2f}")
    print(f"  landmark jitter (mean |2nd difference|, px/frame^2): raw {jit_raw:.3f}, smoothed {jit_smooth:.3f} "
          f"(mean offset from raw {lag:.2f} px)")


if __name__ == "__main__":
    main()
