"""Streaming frame input and H.264 output with the source audio kept.

Input is a video file, a single image, or a folder of images; frames come out
one at a time as upright RGB uint8 arrays `(H, W, 3)`, so memory does not grow
with the length of the video. Output is H.264 in mp4 through PyAV (libx264),
with the source's audio packets copied untouched (no re-encode) and metadata
tags that mark the file as synthetic media.

Why PyAV rather than cv2.VideoCapture/VideoWriter: the OpenCV wheel cannot
write H.264 (the 'avc1' fourcc fails silently) and cannot copy audio; PyAV
does both in process, and reports rotation tags and decode errors directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from faceswap.errors import FaceswapError
from faceswap.fileio import IMAGE_EXTS


def SYNTHETIC_TAGS(version: str) -> dict[str, str]:
    """Container metadata that labels an output as face-swapped synthetic media."""
    text = f"Synthetic media: face-swapped by faceswap {version}. Not a real recording."
    return {
        "comment": text,
        "description": text,
        "synthetic_media": "true",
        "generator": f"faceswap {version}",
    }


@dataclass
class VideoInfo:
    """What a source holds. `width`/`height` are of the upright frames;
    `frame_count` is the container's claim (None for unknown), which a
    truncated file may overstate: never rely on it to size buffers.
    `rotation` is the counter-clockwise display rotation applied to frames."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int | None
    duration: float | None = None
    has_audio: bool = False
    rotation: int = 0
    is_image: bool = False
    rate: Fraction = field(default=Fraction(30))
    time_base: Fraction | None = None  # of the video stream's timestamps


@dataclass
class Frame:
    index: int
    name: str
    image: np.ndarray  # (H, W, 3) RGB uint8, C-contiguous
    time: float | None = None  # seconds from the video's first frame (None for images)


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def is_video(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_file() and not is_image_file(path)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise FaceswapError(f"{path}: no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise FaceswapError(f"{path}: file is empty (0 bytes)")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (EXIF orientation applied, gray -> RGB)."""
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.empty(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FaceswapError(f"{path}: not a readable image")
    return np.ascontiguousarray(image[:, :, ::-1])


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB uint8 image; the format follows the file extension."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", np.ascontiguousarray(image[:, :, ::-1]))
    if not ok:
        raise FaceswapError(f"{path}: cannot encode an image with this extension")
    with open(path, "wb") as f:  # not ndarray.tofile: its short-write error names neither file nor cause
        f.write(buf.tobytes())


def _open_video(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise FaceswapError(f"{path}: not a readable video ({type(e).__name__}: {e})") from None
    if not container.streams.video:
        container.close()
        raise FaceswapError(f"{path}: has no video stream")
    return container


def _rotation_of(container) -> int:
    """Counter-clockwise rotation (0/90/180/270) that shows the frames upright,
    read from the first frame's display matrix (PyAV exposes it per frame)."""
    try:
        for vframe in container.decode(video=0):
            return int(round(vframe.rotation)) % 360
    except (av.error.FFmpegError, ValueError):
        return 0
    return 0


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe a video, an image or a folder of images without decoding it all."""
    path = Path(path)
    _check_exists(path)
    if path.is_dir():
        files = _image_files(path)
        if not files:
            raise FaceswapError(f"{path}: folder holds no images ({', '.join(IMAGE_EXTS)})")
        first = None
        for f in files:  # the first readable one gives the size
            try:
                first = read_image(f)
                break
            except FaceswapError:
                continue
        if first is None:
            raise FaceswapError(f"{path}: none of the {len(files)} images is readable")
        h, w = first.shape[:2]
        return VideoInfo(path, w, h, 0.0, len(files), is_image=True, rate=Fraction(0))
    if is_image_file(path):
        h, w = read_image(path).shape[:2]
        return VideoInfo(path, w, h, 0.0, 1, is_image=True, rate=Fraction(0))
    with _open_video(path) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        frames = stream.frames or (int(round(duration * rate)) if duration else None)
        width, height = ctx.width, ctx.height
        if not width or not height:
            raise FaceswapError(f"{path}: video stream has no frame size (corrupt header?)")
        rotation = _rotation_of(container)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path, width, height, float(rate), frames, duration,
            has_audio=bool(container.streams.audio), rotation=rotation, rate=Fraction(rate),
            time_base=stream.time_base,
        )


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a counter-clockwise display rotation (as FFmpeg's autorotate does)."""
    if rotation == 90:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if rotation == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if rotation == 270:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    return image


def frame_names(files: list[Path]) -> list[str]:
    """A name per image for what is written from it: its stem, or, where two
    images share a stem (`03.jpg`, `03.png`), the stem with the extension
    (`03_jpg`, `03_png`), so that no output overwrites another."""
    from collections import Counter

    stems = Counter(f.stem for f in files)
    return [f.stem if stems[f.stem] == 1 else f"{f.stem}_{f.suffix.lstrip('.').lower()}" for f in files]


class FrameReader:
    """Iterate the frames of a video, an image, or a folder of images.

    Yields `Frame(index, name, image)` with `image` upright RGB uint8. With
    `every=N` only frames 0, N, 2N, ... are converted (the others are still
    decoded, as H.264 requires). After iteration: `frames_read` counts decoded
    frames, `truncated` says the file ended early or broke off mid-stream,
    `skipped` lists unreadable images of a folder as (file, reason).
    """

    def __init__(self, path: str | os.PathLike, every: int = 1, start: int = 0):
        if every < 1:
            raise FaceswapError(f"--every {every}: must be 1 or more")
        self.path = Path(path)
        self.info = probe(self.path)
        self.every = every
        self.start = start
        self.skipped: list[tuple[str, str]] = []
        self.frames_read = 0
        self.truncated = False
        self.error: str | None = None

    def __len__(self) -> int:
        """Frames this reader will yield, by the container's claim."""
        total = self.info.frame_count or 0
        return max(0, (total - self.start + self.every - 1) // self.every)

    def __iter__(self) -> Iterator[Frame]:
        if self.path.is_dir():
            yield from self._iter_folder(_image_files(self.path))
        elif self.info.is_image:
            yield from self._iter_folder([self.path])
        else:
            yield from self._iter_video()

    def _iter_folder(self, files: list[Path]) -> Iterator[Frame]:
        names = frame_names(files)
        for index, f in enumerate(files):
            if index < self.start or (index - self.start) % self.every:
                continue
            try:
                image = read_image(f)
            except FaceswapError as e:
                self.skipped.append((str(f), str(e).split(": ", 1)[-1]))
                continue
            self.frames_read += 1
            yield Frame(index, names[index], image)

    def _iter_video(self) -> Iterator[Frame]:
        with _open_video(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            index = -1
            first = None
            try:
                for packet in container.demux(stream):
                    for vframe in packet.decode():
                        index += 1
                        self.frames_read += 1
                        if vframe.pts is not None and first is None:
                            first = vframe.pts
                        if index < self.start or (index - self.start) % self.every:
                            continue
                        image = vframe.to_ndarray(format="rgb24")
                        if self.info.rotation:
                            image = _upright(image, self.info.rotation)
                        time = (None if vframe.pts is None or vframe.time_base is None
                                else float((vframe.pts - first) * vframe.time_base))
                        yield Frame(index, f"{index:06d}", np.ascontiguousarray(image), time)
            except (av.error.InvalidDataError, av.error.FFmpegError) as e:
                self.truncated = True
                self.error = f"{type(e).__name__}: {e}"
            claimed = self.info.frame_count
            # A clean file may differ from its claim by a frame or two of rounding.
            if claimed and self.frames_read < claimed - 2:
                self.truncated = True


class VideoWriter:
    """Write RGB frames as H.264 mp4, copying the audio of `audio_from`.

    Frames go to `.<output name>.partial.mp4` beside it; `close()` renames it onto the output.
    If the writer is left by an exception, the partial file is closed cleanly
    (it stays playable, holding the frames written so far) and kept under its
    partial name, so a crash never leaves a truncated file at the output path.

    Audio packets are muxed as the video advances (interleaved), with their
    original timestamps, and never re-encoded.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float | Fraction,
        width: int,
        height: int,
        audio_from: str | os.PathLike | None = None,
        metadata: dict[str, str] | None = None,
        crf: int = 18,
        preset: str = "veryfast",
        audio_until: float | None = None,
        time_base: Fraction | None = None,
    ):
        self.path = Path(path)
        self.audio_until = audio_until  # seconds of source audio to keep (None: all of it)
        # hidden and named after the whole output name, so that clearing a killed run's file can
        # never take a user's own `clip.partial.mp4`
        self.partial = self.path.with_name(f".{self.path.name}.partial.mp4")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001000)
        if rate <= 0:
            raise FaceswapError(f"{self.path}: cannot write a video at {fps} fps")
        self.rate = rate
        self.width, self.height = width, height
        self.frames = 0
        self._container = av.open(str(self.partial), mode="w", format="mp4",
                                  options={"movflags": "+use_metadata_tags"})
        for key, value in (metadata or {}).items():
            self._container.metadata[key] = value
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        # yuv420p plays everywhere but needs even sizes; yuv444p keeps odd ones exact.
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        # With the source's time base each frame keeps its source timestamp (write's `time`):
        # a variable-frame-rate video stays in step with its audio.
        self.time_base = Fraction(time_base) if time_base else Fraction(1) / rate
        stream.codec_context.time_base = self.time_base
        stream.options = {"crf": str(crf), "preset": preset}
        self._last_pts = -1
        self._video = stream
        self._audio_in = None
        self._audio_packets = None
        self._audio_out = None
        self._pending = None
        if audio_from is not None:
            self._open_audio(Path(audio_from))

    def _open_audio(self, source: Path) -> None:
        try:
            src = av.open(str(source))
        except (av.error.FFmpegError, OSError):
            return
        if not src.streams.audio:
            src.close()
            return
        in_stream = src.streams.audio[0]
        self._audio_in = src
        self._audio_out = self._container.add_stream_from_template(in_stream)
        self._audio_time_base = in_stream.time_base
        self._audio_packets = src.demux(in_stream)

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Copy source audio packets whose time is before `seconds` (None: all)."""
        if self._audio_packets is None:
            return
        while True:
            packet = self._pending
            self._pending = None
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except (StopIteration, av.error.FFmpegError):
                    self._audio_packets = None
                    return
            if packet.dts is None or packet.size == 0:
                continue
            if seconds is not None and packet.pts is not None and float(packet.pts * self._audio_time_base) >= seconds:
                self._pending = packet
                return
            packet.stream = self._audio_out
            self._container.mux(packet)

    def write(self, image: np.ndarray, time: float | None = None) -> None:
        """Append one RGB uint8 frame of the writer's size, at `time` seconds
        (its source timestamp) or, without one, one frame after the last."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {image.shape[1]}x{image.shape[0]}, writer expects {self.width}x{self.height}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        step = Fraction(1) / (self.rate * self.time_base)  # one frame in time-base units
        pts = round(Fraction(time) / self.time_base) if time is not None else round(self.frames * step)
        pts = max(pts, self._last_pts + 1)  # strictly increasing, as the muxer requires
        frame.pts, self._last_pts = pts, pts
        frame.time_base = self.time_base
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames += 1
        now = float((pts + step) * self.time_base)
        self._mux_audio_until(now if self.audio_until is None else min(now, self.audio_until))

    def _finish(self) -> None:
        for packet in self._video.encode():
            self._container.mux(packet)
        self._mux_audio_until(self.audio_until)
        self._container.close()
        if self._audio_in is not None:
            self._audio_in.close()

    def close(self) -> Path:
        """Flush, close and move the finished file onto the output path."""
        self._finish()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> Path:
        """Close cleanly but keep the file under its partial name."""
        try:
            self._finish()
        except Exception:  # the stream may already be broken: keep what is there
            pass
        return self.partial

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def cut_clip(src: str | os.PathLike, dst: str | os.PathLike, frames: int | None = None, **writer_options) -> int:
    """Write the first `frames` frames of video `src` (all with None) to `dst`,
    with the source audio of that span copied. Returns the frames written.
    Tests and benchmarks use it to make short real clips."""
    reader = FrameReader(src)
    rate = reader.info.rate
    span = None if frames is None else frames / rate
    n = 0
    with VideoWriter(dst, rate, reader.info.width, reader.info.height, audio_from=src,
                     audio_until=span, **writer_options) as writer:
        for frame in reader:
            if frames is not None and n == frames:
                break
            writer.write(frame.image)
            n += 1
    return n
