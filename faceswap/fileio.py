"""Small file helpers shared by the stages: atomic writes and output guards.

A write goes to a temporary file in the destination's folder and is renamed
over the destination, so a killed process never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from faceswap.errors import FaceswapError


def umask_mode(base: int) -> int:
    """`base` (0o666 for files, 0o777 for folders) less the user's umask, as open() and mkdir() apply it."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    On an exception the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, umask_mode(0o666))  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """Read JSON, turning a missing or malformed file into a FaceswapError."""
    path = Path(path)
    if not path.is_file():
        raise FaceswapError(f"{path}: {what} not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FaceswapError(f"{path}: {what} is not valid JSON ({e})") from None


def check_version(path: str | os.PathLike, found: Any, supported: int, what: str) -> None:
    """Refuse a file format newer than this program understands."""
    if not isinstance(found, int):
        raise FaceswapError(f"{path}: {what} has no integer 'version' field")
    if found > supported:
        raise FaceswapError(
            f"{path}: {what} version {found} is newer than this faceswap supports ({supported}); upgrade faceswap"
        )


def check_writable(path: str | os.PathLike) -> None:
    """Refuse early (one line) an output that cannot be created: its nearest
    existing ancestor is a file, or is not writable (permissions, read-only disk)."""
    path = Path(path)
    ancestor = path if path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise FaceswapError(f"{ancestor}: is a file, so {path} cannot be made there; choose another path")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise FaceswapError(f"{ancestor}: not writable (permission denied or a read-only disk), so {path} "
                            "cannot be written; choose another path")


def remove_stale_temps(folder: str | os.PathLike, pattern: str) -> list[Path]:
    """Remove what a killed run of this program left in `folder`: the entries
    whose whole name matches the regex `pattern` (its temp files, partial
    outputs). Returns what was removed."""
    import re

    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.iterdir():
        if re.fullmatch(pattern, p.name):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


# the image files a folder of frames or faces may hold
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

OUTPUT_MARKER = ".faceswap-output"  # in folders this program made that hold no faceset or model


def _location(path: Path) -> Path:
    """Where `path` itself lives: its folder resolved, its own name kept (a link stays the link)."""
    path = Path(os.getcwd()) / path  # not abspath: it folds `link/..` by text, not as the OS does
    if path.name in ("", ".", ".."):
        return path.resolve()
    return path.parent.resolve() / path.name


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _tagged_file(path: Path) -> bool:
    """A file this program wrote: a PNG or mp4 carrying its synthetic-media tag."""
    try:
        if path.suffix.lower() == ".png":
            from PIL import Image

            with Image.open(path) as im:
                return "synthetic_media" in getattr(im, "text", {})
        if path.suffix.lower() == ".mp4":
            import av

            with av.open(str(path)) as c:
                return c.metadata.get("synthetic_media") == "true"
    except Exception:  # unreadable: not recognisably ours
        return False
    return False


def made_by_faceswap(path: str | os.PathLike) -> bool:
    """True for what this program wrote: a faceset (alignments.json), a model
    directory (config.json), a folder with the output marker, a tagged output file."""
    path = Path(path)
    if path.is_dir():
        return any((path / name).is_file() for name in ("alignments.json", "config.json", OUTPUT_MARKER))
    return path.is_file() and _tagged_file(path)


def mark_output_folder(folder: str | os.PathLike) -> None:
    """Mark a folder as made by this program, so that --force may replace it later."""
    (Path(folder) / OUTPUT_MARKER).write_text("made by faceswap; --force may replace this folder\n")


def check_replace(path: str | os.PathLike, in_use: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Refuse (FaceswapError) to replace `path` unless this program wrote it and
    it neither is, holds, nor lies inside anything in `in_use` (inputs, the model,
    alignments). Paths are compared resolved, symlinks followed, and also as given."""
    path = Path(path)
    loc = _location(path)
    real = path.resolve()
    if path.is_symlink():
        raise FaceswapError(f"{path}: is a symbolic link; --force replaces only real files and folders "
                            "faceswap wrote; remove the link or choose another output")
    for used in in_use:
        if used is None:
            continue
        used = Path(used)
        for u in {_location(used), used.resolve()}:
            if _within(u, loc) or _within(u, real) or _within(loc, u) or _within(real, u):
                raise FaceswapError(f"{path}: --force would delete {used} (an input, model or alignments file "
                                    "in use); choose an output outside it")
    if path.exists() and not made_by_faceswap(path):
        what = "folder" if path.is_dir() else "file"
        raise FaceswapError(f"{path}: {what} was not written by faceswap, so --force will not replace it; "
                            "choose another output or delete it yourself")
    return path


def remove_output(path: str | os.PathLike, in_use: Iterable[str | os.PathLike | None] = ()) -> None:
    """Delete an earlier output after `check_replace` allows it."""
    path = check_replace(path, list(in_use))
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prepare_output(path: str | os.PathLike, force: bool, is_dir: bool = False,
                   in_use: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Refuse to overwrite an existing output unless `force`; with `force`,
    remove an existing output folder (only one this program made, see
    `check_replace`) so that no stale files stay in it. A folder is created
    and marked as this program's."""
    path = Path(path)
    if path.exists() and not (is_dir and path.is_dir() and not any(path.iterdir())):
        if not force:
            raise FaceswapError(f"{path}: output already exists; pass --force to overwrite it")
        if path.is_dir() and not is_dir:
            raise FaceswapError(f"{path}: is a folder, expected a file path")
        if is_dir and not path.is_dir():
            raise FaceswapError(f"{path}: is a file, expected a folder path")
        if is_dir:
            remove_output(path, in_use)
        else:
            check_replace(path, list(in_use))
    if is_dir:
        path.mkdir(parents=True, exist_ok=True)
        mark_output_folder(path)
    return path
