"""`faceswap demo`: the whole path on public-domain faces that ship in wheels.

The two faces are Eileen Collins (`skimage.data.astronaut()`, NASA) and Grace
Hopper (matplotlib's `sample_data/grace_hopper.jpg`, US Navy). From each still
we render a short clip with natural-looking motion (a slow head sway and tilt,
a zoom in and out, a drifting side light) and a soft audio tone, so that the
video path is the real one: extract -> (train) -> convert with audio copy.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap import weights
from faceswap.convert import convert
from faceswap.errors import FaceswapError
from faceswap.extract import extract
from faceswap.fileio import prepare_output
from faceswap.train import train
from faceswap.train.refine import refine
from faceswap.video import FrameReader, write_image

DEMO_MODEL = weights.ROOT / "demo"  # the shipped model, wherever this package is installed
IDENTITIES = {"a": "Eileen Collins (NASA)", "b": "Grace Hopper (US Navy)"}


def public_domain_faces(size: int = 384) -> dict[str, np.ndarray]:
    """The two bundled portraits as RGB uint8 squares of `size` pixels."""
    try:
        import matplotlib
        from skimage import data
    except ImportError:
        raise FaceswapError("the demo needs scikit-image and matplotlib: pip install 'faceswap[demo]'") from None
    collins = data.astronaut()  # (512, 512, 3), face upper middle
    hopper_path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    hopper = cv2.imread(str(hopper_path))[:, :, ::-1]  # (600, 512, 3)
    # Square crops centred near each face, leaving room for head motion.
    collins = collins[0:400, 0:400]
    hopper = hopper[20:532, 0:512]
    return {
        "a": np.ascontiguousarray(cv2.resize(collins, (size, size), interpolation=cv2.INTER_AREA)),
        "b": np.ascontiguousarray(cv2.resize(hopper, (size, size), interpolation=cv2.INTER_AREA)),
    }


def animate(image: np.ndarray, n_frames: int, seed: int = 0) -> np.ndarray:
    """Render frame `t` of a slow, smooth camera/head motion of a still image.

    Yields `n_frames` frames (H, W, 3) uint8: rotation of a few degrees,
    a shift of a few percent, a zoom of up to 12 %, a brightness change and a
    side light sweeping across. Each term is a sum of two slow sines with
    seeded phases, so two seeds give two different but natural motions.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    phase = rng.uniform(0, 2 * math.pi, size=6)
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :, None]
    base = image.astype(np.float32)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    for t in range(n_frames):
        u = t / max(1, n_frames - 1)
        angle = 4.0 * math.sin(2 * math.pi * 0.9 * u + phase[0]) + 1.5 * math.sin(2 * math.pi * 2.1 * u + phase[1])
        dx = 0.03 * w * math.sin(2 * math.pi * 0.7 * u + phase[2])
        dy = 0.02 * h * math.sin(2 * math.pi * 1.3 * u + phase[3])
        zoom = 1.0 + 0.12 * (0.5 - 0.5 * math.cos(2 * math.pi * u))
        m = cv2.getRotationMatrix2D((w / 2, h * 0.45), angle, zoom)
        m[:, 2] += (dx, dy)
        warped = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + 0.12 * math.sin(2 * math.pi * 1.1 * u + phase[4])
        side = 0.15 * math.sin(2 * math.pi * 0.8 * u + phase[5])  # light from left or right
        lit = warped * (gain * (1.0 + side * xs))
        frames[t] = np.clip(lit, 0, 255).astype(np.uint8)
    return frames


def write_clip(path: Path, frames: np.ndarray, fps: int = 25, tone_hz: float = 220.0) -> Path:
    """Write frames as H.264 with a soft AAC tone, so the audio path is exercised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"crf": "16", "preset": "veryfast"}
        audio = container.add_stream("aac", rate=44100, layout="mono")
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        n_samples = int(44100 * len(frames) / fps)
        t = np.arange(n_samples, dtype=np.float32) / 44100
        envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) * 4)  # fade in and out
        tone = (0.1 * envelope * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for start in range(0, n_samples, 1024):
            chunk = tone[None, start:start + 1024]
            aframe = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            aframe.sample_rate = 44100
            aframe.pts = start
            aframe.time_base = Fraction(1, 44100)
            for packet in audio.encode(aframe):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def make_clips(folder: Path, seconds: float = 3.0, fps: int = 25, size: int = 384, seed: int = 0) -> dict[str, Path]:
    """Render the two demo clips into `folder`; returns {identity: path}.
    Training clips use other seeds (other motions) than the demo's own."""
    n = int(round(seconds * fps))
    clips = {}
    for i, (name, image) in enumerate(public_domain_faces(size).items()):
        clips[name] = write_clip(folder / f"{name}.mp4", animate(image, n, seed=seed + i), fps, tone_hz=220.0 * (i + 1))
    return clips


def side_by_side(original: Path, swapped: Path, out: Path, frame_index: int | None = None) -> Path:
    """Save a labelled picture: the input frame beside the swapped frame."""
    def pick(path: Path) -> np.ndarray:
        frames = list(FrameReader(path))
        return frames[len(frames) // 2 if frame_index is None else frame_index].image

    left, right = pick(original), pick(swapped)
    picture = np.concatenate([left, np.full((left.shape[0], 8, 3), 255, np.uint8), right], axis=1)
    picture = np.ascontiguousarray(picture)
    for x, label in ((8, "input"), (left.shape[1] + 16, "swapped (synthetic)")):
        cv2.putText(picture, label, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(picture, label, (x, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    write_image(out, picture)
    return out


@dataclass
class DemoResult:
    output: Path
    swapped: Path
    picture: Path
    model: Path
    seconds: float


def train_demo_model(faces_a, faces_b, model_dir, iterations: int, *, seed: int = 0, nowarp: int | None = None,
                     **kw):
    """The demo's training recipe: `iterations` steps of the lightweight preset,
    the last `nowarp` of them (default a quarter) on unwarped faces, which draws
    firmer eyes and lips. Returns the TrainSummary of both phases together."""
    nowarp = iterations // 4 if nowarp is None else nowarp
    summary = train(faces_a, faces_b, model_dir, iterations=iterations - nowarp, preset="lightweight", seed=seed, **kw)
    kw.pop("init", None)  # the finish resumes the model the first phase started (from the prior, if any)
    if nowarp:
        finish = train(faces_a, faces_b, model_dir, iterations=iterations, preset="lightweight", seed=seed,
                       warp=False, **kw)
        summary.last, summary.step, summary.seconds = finish.last, finish.step, summary.seconds + finish.seconds
    return summary


# what demo() writes into its folder; --force replaces these and nothing else there
DEMO_LAYOUT = ("clips", "faces", "model", "a_as_b.mp4", "side_by_side.png")


def demo(output: str | os.PathLike = "demo-output", *, train: bool = False, iterations: int = 3000,
         device: str | None = None, force: bool = False, progress: bool = True) -> DemoResult:
    """Run the whole path on the bundled faces and write `output/`.

    output/clips/{a,b}.mp4     the rendered input clips (with a tone as audio)
    output/faces/{a,b}/        facesets extracted from them
    output/a_as_b.mp4          clip a with b's face, a's audio, labelled synthetic
    output/side_by_side.png    a frame of the input beside the same swapped frame
    With `train`, a fresh lightweight model is trained into output/model first
    (`iterations` steps, the last quarter without the random warp, then
    iterations/2 steps of Hopper's detail upsampler);
    otherwise the shipped `demo` model (faceswap.weights) is used.
    """
    start = time.perf_counter()
    if not train and "demo" not in weights.names():  # say so before minutes of rendering and extraction
        raise FaceswapError(f"{DEMO_MODEL}: the shipped demo model is missing from this install; "
                            "run `faceswap demo --train` to train one")
    out = prepare_output(output, force=force, is_dir=True, own=DEMO_LAYOUT)
    out.mkdir(parents=True, exist_ok=True)
    say = print if progress else (lambda *a, **k: None)
    say(f"faceswap demo: {IDENTITIES['a']} -> {IDENTITIES['b']}, writing {out}/")
    clips = make_clips(out / "clips")
    facesets = {}
    for name, clip in clips.items():
        facesets[name] = out / "faces" / name
        extract(clip, facesets[name], progress=progress)
    model = DEMO_MODEL
    if train:
        model = out / "model"
        train_demo_model(facesets["a"], facesets["b"], model, iterations, device=device, progress=progress)
        # Hopper's detail upsampler: half as many steps again, about a third of the time
        refine(model, identity="b", steps=max(1, iterations // 2), device=device, progress=progress)
    swapped = out / "a_as_b.mp4"
    convert(clips["a"], model, swapped, to="b", alignments=facesets["a"] / "alignments.json",
            device=device, progress=progress)
    picture = side_by_side(clips["a"], swapped, out / "side_by_side.png")
    seconds = time.perf_counter() - start
    say(f"done in {seconds:.0f} s: {swapped} and {picture}")
    return DemoResult(out, swapped, picture, model, seconds)
