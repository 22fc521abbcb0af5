"""Small clips for the extract tests, made in tmp from the real d20/d6 clips
(never copied into the repo): short, grayscale, rotation-tagged, truncated,
face-less, and image folders."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first `count` frames of a video as RGB uint8 arrays."""
    frames = []
    with av.open(str(path)) as container:
        for vframe in container.decode(video=0):
            frames.append(vframe.to_ndarray(format="rgb24"))
            if len(frames) >= count:
                break
    return frames


def encode(path: Path, frames: list[np.ndarray], codec: str = "libx264", pix_fmt: str = "yuv420p",
           fmt: str = "rgb24", rate: int = 25) -> Path:
    """Encode frames (RGB, or 2-D grey with fmt="gray") into a video file."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def tag_rotation(path: Path, out: Path) -> Path:
    """Copy an mp4 with its track matrix (tkhd) set to a 90 degree counter-clockwise
    display rotation, as a phone writes a portrait video. Byte patch: no FFmpeg CLI."""
    data = path.read_bytes()
    identity = struct.pack(">9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)
    rotate = struct.pack(">9i", 0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30)
    at = data.find(identity, data.find(b"tkhd"))
    assert at > 0, "no identity matrix in tkhd"
    out.write_bytes(data[:at] + rotate + data[at + len(identity):])
    return out


@pytest.fixture(scope="session")
def d20_frames(faces_dir) -> list[np.ndarray]:
    return read_frames(faces_dir / "d20.mp4", 40)


@pytest.fixture(scope="session")
def short_clip(d20_frames, tmp_path_factory) -> Path:
    """The first 40 frames of d20 (480x480, 25 fps) as an mp4."""
    return encode(tmp_path_factory.mktemp("clips") / "d20_40.mp4", d20_frames)


@pytest.fixture()
def image_folder(d20_frames, tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in (0, 10, 20):
        cv2.imwrite(str(folder / f"frame{i:02d}.png"), d20_frames[i][:, :, ::-1])
    return folder


@pytest.fixture(scope="session")
def pair(faces_dir, tmp_path_factory) -> dict:
    """Two people side by side: d6 (left half) and d10 (right half), 40 frames of
    960x480, plus a photo of each taken from a later frame than the clip holds."""
    root = tmp_path_factory.mktemp("pair")
    left = read_frames(faces_dir / "d6.mp4", 300)
    right = [cv2.resize(f, (480, 480), interpolation=cv2.INTER_AREA) for f in read_frames(faces_dir / "d10.mp4", 300)]
    clip = encode(root / "pair.mp4", [np.hstack([a, b]) for a, b in zip(left[:40], right[:40])])
    photos = {}
    for name, frames in (("d6", left), ("d10", right)):
        photos[name] = root / f"{name}.png"
        cv2.imwrite(str(photos[name]), frames[-1][:, :, ::-1])
    return {"clip": clip, "photos": photos, "left": left[:40], "right": right[:40], "root": root}
