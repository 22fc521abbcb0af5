"""The faceset on disk: aligned crops `<frame:06d>_<face>.png` plus `alignments.json`.

alignments.json (version 1)::

    {"version": 1, "source": str, "width": int, "height": int, "fps": float,
     "frame_count": int | null, "size": int, "coverage": float,
     "frames": {"<frame index>": [{"box": [x1, y1, x2, y2], "score": float,
                                   "landmarks": [[x, y] x 5], "matrix": [[a, b, c], [d, e, f]],
                                   "file": "000012_0.png"}]},
     "done": int,    # extract's resume point: frames with index < done are finished
     "fingerprint": {"bytes": int, "head_sha256": str, "duration": float | null}}  # optional

`fingerprint` identifies the source (see `source_fingerprint`); convert and a
resumed extract refuse a source that does not match it. Files written before
it existed load without it (nothing is checked then).

`matrix` maps frame coordinates to aligned-crop coordinates at `size`. A frame
that was examined and held no face is listed with an empty list.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceswap import identity
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.fileio import IMAGE_EXTS, check_version, read_json, write_json_atomic

ALIGNMENTS_VERSION = 1
ALIGNMENTS_NAME = "alignments.json"


HEAD_BYTES = 1 << 20


def source_fingerprint(path: str | os.PathLike, duration: float | None = None) -> dict[str, Any]:
    """What identifies a source beyond its name: its size in bytes and a hash
    of its first MiB (the container header and the first frames); for a folder
    of images, their names and sizes. A truncated or re-encoded copy, or
    another clip of the same frame size, differs."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        total = 0
        for f in files:
            size = f.stat().st_size
            total += size
            digest.update(f"{f.name}\0{size}\n".encode())
        return {"bytes": total, "head_sha256": digest.hexdigest(), "files": len(files)}
    with open(path, "rb") as f:
        digest.update(f.read(HEAD_BYTES))
    return {"bytes": path.stat().st_size, "head_sha256": digest.hexdigest(),
            "duration": None if duration is None else round(float(duration), 3)}


def fingerprint_mismatch(saved: dict[str, Any] | None, path: str | os.PathLike) -> str | None:
    """None when `path` matches the saved fingerprint (or none was saved); else what differs."""
    if not isinstance(saved, dict) or not Path(path).exists():
        return None
    now = source_fingerprint(path)
    if saved.get("bytes") != now["bytes"]:
        return f"{saved.get('bytes')} bytes were recorded, {path} has {now['bytes']}"
    if saved.get("head_sha256") != now["head_sha256"]:
        return f"{path} starts with other content than the recorded source"
    return None


def face_file(frame: int, face: int) -> str:
    return f"{frame:06d}_{face}.png"


@dataclass
class Alignments:
    """In-memory alignments.json. `frames` maps int frame index -> list of face dicts."""

    source: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int | None = None
    size: int = 256
    coverage: float = 0.75
    frames: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    done: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": ALIGNMENTS_VERSION,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frame_count": self.frame_count,
            "size": self.size,
            "coverage": self.coverage,
            "frames": {str(k): v for k, v in sorted(self.frames.items())},
            "done": self.done,
            **self.extra,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (a killed run leaves the previous complete file)."""
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Alignments":
        path = Path(path)
        if path.is_dir():
            path = path / ALIGNMENTS_NAME
        data = read_json(path, "alignments file")
        if not isinstance(data, dict):
            raise FaceswapError(f"{path}: alignments file is not a JSON object")
        check_version(path, data.get("version"), ALIGNMENTS_VERSION, "alignments file")
        try:
            frames = {int(k): list(v) for k, v in data.get("frames", {}).items()}
            known = {"version", "source", "width", "height", "fps", "frame_count", "size", "coverage", "frames", "done"}
            return cls(
                source=str(data.get("source", "")),
                width=int(data.get("width", 0)),
                height=int(data.get("height", 0)),
                fps=float(data.get("fps") or 0.0),
                frame_count=None if data.get("frame_count") is None else int(data["frame_count"]),
                size=int(data["size"]),
                coverage=float(data["coverage"]),
                frames=frames,
                done=int(data.get("done", max(frames, default=-1) + 1)),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise FaceswapError(f"{path}: alignments file is malformed ({type(e).__name__}: {e})") from None

    def faces(self) -> list[tuple[int, dict[str, Any]]]:
        """All faces as (frame index, face dict), in frame order."""
        return [(k, face) for k in sorted(self.frames) for face in self.frames[k]]

    @property
    def face_count(self) -> int:
        return sum(len(v) for v in self.frames.values())


def first_missing_frame(al: Alignments) -> int | None:
    """The first frame of a video's faceset that extract examined (every
    `--every`th below `done`) but that has no entry, not even an empty one:
    frames deleted from alignments.json by hand or by another tool. None when
    every examined frame is listed, and for folders of images (whose unreadable
    files leave gaps on purpose, listed under "skipped")."""
    source = Path(al.source)
    if source.is_dir() or source.suffix.lower() in IMAGE_EXTS:
        return None
    every = int((al.extra.get("settings") or {}).get("every") or 1)
    for index in range(0, al.done, every):
        if index not in al.frames:
            return index
    return None


def landmarks_in_crop(face: dict[str, Any]) -> np.ndarray:
    """The face's five landmarks mapped into its aligned crop, (5, 2) float32."""
    lm = np.asarray(face["landmarks"], np.float64)
    m = np.asarray(face["matrix"], np.float64)
    return (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)


def load_faceset(folder: str | os.PathLike, size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a faceset folder as arrays.

    Returns (images (N, S, S, 3) uint8 RGB, landmarks_in_crop (N, 5, 2)
    float32 or None). With alignments.json the faces listed there are loaded
    in frame order with their landmarks; a plain folder of images loads every
    image (landmarks None). `size` resizes to S x S (landmarks scaled too);
    without it all images must share one size.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FaceswapError(f"{folder}: faceset folder not found; run `faceswap extract VIDEO -o {folder}` first")
    align_path = folder / ALIGNMENTS_NAME
    if align_path.is_file():
        al = Alignments.load(align_path)
        if al.extra.get("complete") is False:
            raise FaceswapError(
                f"{align_path}: faceset is unfinished (extract stopped at frame {al.done}); "
                f"re-run `faceswap extract {al.source} -o {folder}` to finish it"
            )
        entries = [(folder / f["file"], landmarks_in_crop(f)) for _, f in al.faces() if (folder / f["file"]).is_file()]
    else:
        entries = [(p, None) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_EXTS]
    if not entries:
        raise FaceswapError(f"{folder}: faceset holds no face images")
    images, marks = [], []
    for path, lm in entries:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FaceswapError(f"{path}: not a readable image; remove it from the faceset")
        image = image[:, :, ::-1]
        h, w = image.shape[:2]
        if size is not None and (h, w) != (size, size):
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if size < h else cv2.INTER_LINEAR)
            if lm is not None:
                lm = lm * np.float32([size / w, size / h])
        elif images and image.shape != images[0].shape:
            raise FaceswapError(f"{path}: size {w}x{h} differs from the other faces; pass size= to resize")
        images.append(np.ascontiguousarray(image))
        marks.append(lm)
    landmarks = None if any(m is None for m in marks) else np.stack(marks).astype(np.float32)
    return np.stack(images), landmarks


def faceset_embeddings(folder: str | os.PathLike, embedder: identity.FaceEmbedder | None = None,
                       max_faces: int = 64) -> np.ndarray:
    """Identity embeddings (N, 128) of up to `max_faces` faces spread evenly over a faceset."""
    folder = Path(folder)
    images, _ = load_faceset(folder)  # FaceswapError naming the folder when missing, empty or unfinished
    align = folder / ALIGNMENTS_NAME
    coverage = (Alignments.load(align).coverage if align.is_file() else None) or DEFAULT_COVERAGE
    pick = np.unique(np.linspace(0, len(images) - 1, min(max_faces, len(images))).round().astype(int))
    return (embedder or identity.FaceEmbedder()).embed_crops(images[pick], coverage)


def faceset_reference(folder: str | os.PathLike, embedder: identity.FaceEmbedder | None = None,
                      max_faces: int = 64) -> np.ndarray:
    """The mean identity embedding (128,) of up to `max_faces` faces spread over a faceset.

    A mean over many frames is steadier than any single face (pose, blur and
    expression average out), so a distance to it measures identity only.
    """
    return faceset_embeddings(folder, embedder, max_faces).mean(0)
