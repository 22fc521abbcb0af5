"""The root guard: the page may read and write only under the folders given
at start (`faceswap ui --root DIR`).

Every path typed into or returned by the page goes through `Root.resolve`:
relative paths are taken from the root, `..` anywhere is refused outright
(even when it would land back inside), absolute paths must lie under the
root, and symlinks are resolved before the check, so a link inside the root
that points outside it is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from faceswap.errors import FaceswapError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class Root:
    """One or more folders the page may use; the first is where new outputs go."""

    def __init__(self, *folders: str | os.PathLike):
        if not folders:
            raise ValueError("Root needs at least one folder")
        self.folders = []
        for folder in folders:
            path = Path(folder).expanduser()
            if not path.is_dir():
                raise FaceswapError(f"--root {folder}: not a folder; create it or pick another")
            self.folders.append(path.resolve())

    @property
    def main(self) -> Path:
        return self.folders[0]

    def contains(self, path: Path) -> bool:
        return any(path == f or f in path.parents for f in self.folders)

    def resolve(self, text: str | os.PathLike | None, what: str = "path", must_exist: bool = False) -> Path:
        """The real absolute path of `text`, checked to lie under the root.

        Raises FaceswapError (one line, naming the path) for an empty path, a
        `..` component, an absolute path or symlink target outside the root,
        or (with must_exist) a missing file.
        """
        raw = str(text or "").strip()
        if not raw:
            raise FaceswapError(f"{what}: empty; give a path under {self.main}")
        if ".." in PurePath(raw).parts:
            raise FaceswapError(f"{raw}: '..' is not allowed; give a path under {self.main}")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.main / path
        real = path.resolve()  # follows every symlink, also of missing tails' parents
        if not self.contains(real):
            raise FaceswapError(f"{raw}: outside the folders this page may use ({self.describe()})")
        if must_exist and not real.exists():
            raise FaceswapError(f"{raw}: no such file or folder under {self.main}")
        return real

    def inside(self, path: str | os.PathLike) -> Path | None:
        """The real path of a file the page derived itself (a model's preview,
        a faceset's crops, a job's output), or None when it lies outside the
        root: a symlink planted inside the root must not let the page read,
        serve or hand Gradio a file outside it. Checked at the moment of use."""
        real = Path(path).resolve()
        return real if self.contains(real) else None

    def read_bytes(self, path: str | os.PathLike) -> bytes | None:
        """The bytes of a file under the root, or None when it is missing or lies
        outside. Opened without following a final symlink, and the opened file's
        own path is checked again (a link swapped in between is caught)."""
        real = self.inside(path)
        if real is None:
            return None
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            opened = Path(f"/proc/self/fd/{fd}")
            if opened.exists() and not self.contains(Path(os.readlink(opened))):
                return None
            return f.read()

    def read_image(self, path: str | os.PathLike):
        """An image under the root as RGB uint8 (None when missing, unreadable or
        outside): the page hands Gradio pixels, never a path to copy or serve."""
        import cv2
        import numpy as np

        data = self.read_bytes(path)
        if not data:
            return None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return None if image is None else np.ascontiguousarray(image[:, :, ::-1])

    def new_file(self, folder: str | os.PathLike, name: str):
        """Create a new file `name` in `folder` (made under the root if missing)
        and return it open for writing; never follows a symlink and never
        replaces anything: an existing name gets a numbered one instead."""
        base = self.resolve(folder, "folder")
        base.mkdir(parents=True, exist_ok=True)
        base = self.inside(base)  # mkdir through a link made since: check the real folder again
        if base is None or base.is_symlink():
            raise FaceswapError(f"{folder}: outside the folders this page may use ({self.describe()})")
        stem, suffix = Path(name).stem, Path(name).suffix
        for n in range(1000):
            candidate = base / (f"{stem}{suffix}" if n == 0 else f"{stem}-{n}{suffix}")
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
            except FileExistsError:
                continue
            return candidate, os.fdopen(fd, "wb")
        raise FaceswapError(f"{folder}: too many files named {name}; remove some")

    def relative(self, path: str | os.PathLike) -> str:
        """How the page shows a path: relative to the root folder that holds it."""
        real = Path(path).resolve()
        for folder in self.folders:
            if real == folder or folder in real.parents:
                rel = real.relative_to(folder).as_posix()
                return rel if folder == self.main else str(real)
        return str(real)

    def describe(self) -> str:
        return ", ".join(str(f) for f in self.folders)

    # --- listings for the page's drop-downs --------------------------------------------------
    def _walk(self, max_depth: int = 4):
        for folder in self.folders:
            for dirpath, dirnames, filenames in os.walk(folder):
                depth = len(Path(dirpath).relative_to(folder).parts)
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < max_depth else []
                yield Path(dirpath), sorted(filenames)

    def videos(self) -> list[str]:
        return [self.relative(d / f) for d, files in self._walk() for f in files
                if f.lower().endswith(VIDEO_SUFFIXES) and not f.endswith(".partial.mp4")]

    def facesets(self) -> list[str]:
        return [self.relative(d) for d, files in self._walk() if "alignments.json" in files]

    def models(self) -> list[str]:
        return [self.relative(d) for d, files in self._walk() if "config.json" in files and "model.safetensors" in files]
