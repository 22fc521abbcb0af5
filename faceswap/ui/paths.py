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
