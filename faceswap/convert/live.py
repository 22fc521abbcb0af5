"""`faceswap live`: swap faces of a camera, a video or a stream as frames arrive.

Three threads, joined by one-frame mailboxes instead of queues:

    capture (camera / file at its own frame rate) -> locate (detect + track + crop) -> swap + paste -> sink

A mailbox holds only the newest frame: when a stage is still busy, the frame
waiting for it is replaced (and counted as dropped), so latency stays bounded
by one frame per stage however long the run, instead of growing as a queue
would. Detection and the swap run side by side on the two cores.

The output goes to a file (H.264 mp4, tagged as synthetic like convert's), a
virtual camera where `pyvirtualcam` and a loopback device exist, a window
where OpenCV has a GUI, or nowhere (figures only). Every output frame carries
a visible "synthetic" label: a live feed has no metadata to carry one.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

from faceswap import __version__
from faceswap.convert.blend import crop, paste_face, watermark
from faceswap.convert.color import DEFAULT_COLOR
from faceswap.convert.export import OnnxSwapper
from faceswap.convert.faces import FaceRenderer
from faceswap.convert.files import pick_identity
from faceswap.convert.masks import MaskMaker
from faceswap.convert.sharpen import resolve_sharpen
from faceswap.convert.smoothing import LandmarkSmoother
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE, template_points, umeyama
from faceswap.extract.detect import Detector
from faceswap.extract.track import Tracker
from faceswap.fileio import output_path
from faceswap.runtime import pick_device
from faceswap.train import load_swap_model
from faceswap.video import SYNTHETIC_TAGS, FrameReader, VideoWriter

LABEL = "AI face swap"


class Mailbox:
    """Holds the newest item only: `put` replaces an item not yet taken (counted in
    `dropped`); `get` waits for the next one and returns None once closed and empty."""

    def __init__(self):
        self._cv = threading.Condition()
        self._item: Any = None
        self.closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._cv:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cv.notify()

    def get(self) -> Any:
        with self._cv:
            while self._item is None and not self.closed:
                self._cv.wait(0.2)
            item, self._item = self._item, None
            self._cv.notify_all()  # wakes a producer in wait_taken
            return item

    def wait_taken(self) -> None:
        """Wait until the item waiting here has been taken (or the box is closed)."""
        with self._cv:
            while self._item is not None and not self.closed:
                self._cv.wait(0.2)

    def close(self) -> None:
        with self._cv:
            self.closed = True
            self._cv.notify_all()


@dataclass
class LiveSummary:
    frames_in: int = 0
    frames_out: int = 0
    faces: int = 0
    dropped: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def __str__(self) -> str:
        return (f"live: {self.frames_out} of {self.frames_in} frames swapped ({self.dropped} dropped to keep up), "
                f"{self.fps:.1f} fps; latency from arrival to swapped frame: median {self.latency(50):.0f} ms, "
                f"95th percentile {self.latency(95):.0f} ms")


# ---------------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------------
def _frames(source: str, realtime: bool, stop: threading.Event):
    """(image RGB, arrival time) as the source delivers them: a camera index or a
    stream URL through OpenCV, a file through PyAV at its own frame rate."""
    if source.isdigit() or "://" in source:
        cap = cv2.VideoCapture(int(source) if source.isdigit() else source)
        if not cap.isOpened():
            raise FaceswapError(f"--source {source}: cannot open this camera or stream")
        try:
            while not stop.is_set():
                ok, bgr = cap.read()
                if not ok:
                    return
                yield np.ascontiguousarray(bgr[:, :, ::-1]), time.monotonic()
        finally:
            cap.release()
        return
    reader = FrameReader(Path(source))
    fps = reader.info.fps or 30.0
    start = time.monotonic()
    for frame in reader:
        if stop.is_set():
            return
        if realtime:  # play the file as a camera would deliver it
            due = start + (frame.time if frame.time is not None else frame.index / fps)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield frame.image, time.monotonic()


# ---------------------------------------------------------------------------------------------
# the face side: a torch model directory or an exported .onnx graph
# ---------------------------------------------------------------------------------------------
class _OnnxRenderer:
    """FaceRenderer's crop and swap, for a graph written by `faceswap export --format onnx`."""

    def __init__(self, path: Path, threads: int = 1):
        self.swapper = OnnxSwapper(path, threads)
        self.size, self.paste_size = self.swapper.resolution, self.swapper.paste_size
        if self.paste_size == self.size:  # no upsampler in the graph: bicubic to convert's paste size
            self.paste_size = self.size * 4
        self.template = np.asarray(template_points(self.paste_size, self.swapper.coverage), np.float64)
        self.detail = self.swapper.paste_size != self.swapper.resolution

    def crop(self, image, landmarks):
        m = umeyama(np.asarray(landmarks, np.float64), self.template).astype(np.float64)
        big = crop(image, m, self.paste_size)
        return m, big, cv2.resize(big, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def swap(self, inputs):
        out = self.swapper.swap(inputs)
        if out and out[0][0].shape[0] != self.paste_size:
            out = [(cv2.resize(f, (self.paste_size,) * 2, interpolation=cv2.INTER_CUBIC), m) for f, m in out]
        return out


def _renderer(model: Path, to: str | None, detail: bool, device, backend: str = "auto"):
    if model.suffix.lower() == ".onnx":
        r = _OnnxRenderer(model)
        return r, bool(r.swapper.session.get_outputs()), r.detail
    net, meta = load_swap_model(model, device)
    ident = pick_identity(to, list(net.identities), meta, model)
    r = FaceRenderer(net, model, ident, float(meta.get("coverage") or DEFAULT_COVERAGE), device, detail=detail,
                     backend=backend)
    return r, bool(net.has_mask), r.detail is not None


# ---------------------------------------------------------------------------------------------
# sinks
# ---------------------------------------------------------------------------------------------
def _sink(output: Path | None, window: bool, virtual_camera: bool, width: int, height: int, fps: float):
    """A function taking each output frame (RGB) and its time in seconds, and one closing the sinks."""
    writers: list[Callable[[np.ndarray, float], None]] = []
    closers: list[Callable[[], None]] = []
    if output is not None:
        writer = VideoWriter(output, fps, width, height, metadata=SYNTHETIC_TAGS(__version__))
        writers.append(writer.write)  # at the frame's own time: a live output has gaps where frames dropped
        closers.append(writer.close)
    if virtual_camera:
        try:
            import pyvirtualcam  # optional: not every machine has a loopback camera
        except ImportError:
            raise FaceswapError("--virtual-camera needs pyvirtualcam and a loopback camera device "
                                "(pip install pyvirtualcam; on Linux: v4l2loopback)") from None
        try:
            cam = pyvirtualcam.Camera(width=width, height=height, fps=fps)
        except RuntimeError as e:
            raise FaceswapError(f"--virtual-camera: {e}") from None
        writers.append(lambda img, _t: cam.send(img))
        closers.append(cam.close)
    if window:
        try:
            cv2.namedWindow("faceswap live", cv2.WINDOW_NORMAL)
        except cv2.error:
            raise FaceswapError("--window: this OpenCV has no GUI (opencv-python-headless); install "
                                "opencv-python, or write to a file or a virtual camera") from None
        writers.append(lambda img, _t: (cv2.imshow("faceswap live", img[:, :, ::-1]), cv2.waitKey(1)))
        closers.append(cv2.destroyAllWindows)

    def close() -> None:
        for c in closers:
            c()

    return (lambda img, t: [w(img, t) for w in writers]), close


# ---------------------------------------------------------------------------------------------
# live()
# ---------------------------------------------------------------------------------------------
def live(source: str | os.PathLike | int, model: str | os.PathLike, *, output: str | os.PathLike | None = None,
         window: bool = False, virtual_camera: bool = False, to: str | None = None, detail: bool = True,
         seconds: float | None = None, max_frames: int | None = None, realtime: bool = True,
         device: str | None = None, backend: str = "auto", progress: bool = True) -> LiveSummary:
    """Swap the faces of `source` (a camera index, a stream URL or a video file,
    played at its own frame rate when `realtime`) with `model` (a model directory
    or an exported .onnx) as frames arrive, dropping frames rather than falling
    behind. Stops at the end of the source, after `seconds` or `max_frames`
    input frames, or on Ctrl-C. backend: "auto" (the fastest
    of what this machine has, timed), "torch", "bf16" or "onnx" for a model directory. Returns the figures
    (fps, latency, drops)."""
    source, model = str(source), Path(model)
    if not (source.isdigit() or "://" in source or Path(source).is_file()):
        raise FaceswapError(f"--source {source}: no such camera index, stream URL or video file")
    if not model.exists():
        raise FaceswapError(f"{model}: no such model directory or .onnx file")
    if output is not None:
        output = output_path(output)
        if output.exists():
            raise FaceswapError(f"{output}: output already exists; choose another path")
        if output.suffix.lower() != ".mp4":
            raise FaceswapError(f"{output}: live output is H.264 mp4; use a .mp4 path")
    dev = pick_device(device)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two busy stages on two cores: a second torch thread each would only contend
    renderer, has_mask, has_detail = _renderer(model, to, detail, dev, backend)
    masks = MaskMaker("learned" if has_mask else "face", renderer.paste_size, renderer.template)
    sharpen = resolve_sharpen(None, has_detail)
    tracker = Tracker(Detector(device=dev), max_faces=0)

    stop = threading.Event()
    captured, located = Mailbox(), Mailbox()
    summary = LiveSummary()
    errors: list[BaseException] = []

    def capture() -> None:
        for image, arrived in _frames(source, realtime, stop):
            summary.frames_in += 1
            captured.put((image, arrived))
            if max_frames is not None and summary.frames_in >= max_frames:
                break
            if seconds is not None and time.monotonic() - t0 >= seconds:
                break

    def locate() -> None:
        smoother, index = None, 0
        while True:
            # one frame ahead of the swap, no more: locating frames the swap would drop
            # only takes the CPU from it
            located.wait_taken()
            item = captured.get()
            if item is None:
                return
            image, arrived = item
            faces = list(tracker.process([image])[0].landmarks)
            smoother = smoother or LandmarkSmoother(30.0)
            faces = smoother(index, faces)
            index += 1
            located.put((image, arrived, [renderer.crop(image, lm) for lm in faces]))

    def guarded(fn, closes: Mailbox):
        def run() -> None:
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                errors.append(e)
                stop.set()
            finally:
                closes.close()
        return threading.Thread(target=run, daemon=True)

    t0 = time.monotonic()
    threads = [guarded(capture, captured), guarded(locate, located)]
    for t in threads:
        t.start()
    write = close = None
    try:
        while True:
            item = located.get()
            if item is None:
                break
            image, arrived, faces = item
            image = image.copy()
            outs = renderer.swap([x for _, _, x in faces])
            for (matrix, original, _), (face, learned) in zip(faces, outs):
                paste_face(image, face, original, masks(learned), matrix, color=DEFAULT_COLOR, sharpen=sharpen,
                           blend="alpha")
            watermark(image, LABEL)
            if write is None:
                h, w = image.shape[:2]
                write, close = _sink(output, window, virtual_camera, w, h, 30.0)
            write(image, arrived - t0)
            summary.frames_out += 1
            summary.faces += len(faces)
            summary.latencies_ms.append((time.monotonic() - arrived) * 1000)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        captured.close()
        for t in threads:
            t.join(timeout=30)
        if close is not None:
            close()
        torch.set_num_threads(torch_threads)
    if errors:
        raise errors[0]
    summary.seconds = time.monotonic() - t0
    summary.dropped = captured.dropped + located.dropped
    if summary.frames_in == 0:
        raise FaceswapError(f"--source {source}: delivered no frame")
    if progress:
        print(summary, flush=True)
    return summary
