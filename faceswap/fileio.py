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
from typing import Any, Iterator

from faceswap.errors import FaceswapError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    On an exception the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are ordinary files
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
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


def prepare_output(path: str | os.PathLike, force: bool, is_dir: bool = False) -> Path:
    """Refuse to overwrite an existing output unless `force`; with `force`,
    remove an existing output folder so that no stale files stay in it."""
    path = Path(path)
    if path.exists() and not (is_dir and path.is_dir() and not any(path.iterdir())):
        if not force:
            raise FaceswapError(f"{path}: output already exists; pass --force to overwrite it")
        if path.is_dir() and is_dir:
            shutil.rmtree(path)
        elif path.is_dir():
            raise FaceswapError(f"{path}: is a folder, expected a file path")
    return path
