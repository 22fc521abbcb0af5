"""Small file helpers shared by the stages: atomic writes and output guards.

A write goes to a temporary file in the destination's folder and is renamed
over the destination, so a killed process never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
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


def write_error(e: BaseException, path: str | os.PathLike, doing: str) -> OSError:
    """An OSError naming `path` and the cause for a failed write. torch.save,
    safetensors and cv2.imwrite report a short write as a bare RuntimeError
    ("unexpected pos") or a False that names neither the file nor the full
    disk; an OSError that carries its errno is returned as it is."""
    if isinstance(e, OSError) and e.errno is not None:
        return e
    try:
        full = shutil.disk_usage(Path(path) if Path(path).is_dir() else Path(path).parent).free < (1 << 20)
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} while {doing}", str(path))
    first = (str(e).splitlines() or [""])[0] or type(e).__name__
    return OSError(errno.EIO, f"failed while {doing} ({first})", str(path))


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


def remove_stale_temps(folder: str | os.PathLike, pattern: str,
                       keep: Iterable[str | os.PathLike | None] = ()) -> list[Path]:
    """Remove what a killed run of this program left in `folder`: the entries
    whose whole name matches the regex `pattern` (its temp files, partial
    outputs), except anything in `keep` (the inputs of the run: a user may
    well convert a file that happens to be named like a partial output).
    Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    kept = {Path(k).resolve() for k in keep if k is not None}
    removed = []
    for p in folder.iterdir():
        if re.fullmatch(pattern, p.name) and p.resolve() not in kept and not p.is_symlink():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


# the image files a folder of frames or faces may hold
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

OUTPUT_MARKER = ".faceswap-output"  # in every folder this program creates as an output
MARKER_TEXT = "made by faceswap: --force may replace the files faceswap wrote in this folder, nothing else\n"

# What faceswap writes inside its output folders, by name: faceset crops (rank-prefixed after
# `sort --rename`), alignments, a model's files, temp files of its atomic writes. A converted
# image or video is recognised by its synthetic-media tag instead.
_OWN_FILES = re.compile(r"(\d{5}_)?\d{6,}_\d+\.png|alignments\.json|config\.json|model\.safetensors|trainer\.pt"
                        r"|preview\.png|discriminator\.safetensors|\..+\.tmp.*|\..+\.partial(\.mp4)?"
                        + "|" + re.escape(OUTPUT_MARKER))
_OWN_FOLDERS = re.compile(r"detail_[\w.-]+|rejected|\..+\.partial")


def output_path(path: str | os.PathLike) -> Path:
    """`path` as the operating system will take it, checked before anything is
    created or replaced there.

    A `..` right after a symbolic link or a folder that does not exist yet is
    refused: the OS goes up from the link's target (or fails), while a check of
    the text (and `mkdir(parents=True)`) goes up from the link itself, so the
    two would disagree about which file is replaced. The current folder and the
    folders above it are never an output (replacing one deletes the shell's
    working folder and whatever it holds). A path with a `..` comes back
    absolute, its folder resolved; any other path comes back as given.
    """
    path = Path(path)
    prefix = Path(path.anchor) if path.is_absolute() else Path(".")
    for part in path.parts[1 if path.is_absolute() else 0:]:
        if part == ".." and (prefix.is_symlink() or not prefix.is_dir()):
            why = "a symbolic link" if prefix.is_symlink() else "a folder that does not exist"
            raise FaceswapError(f"{path}: '..' after {prefix} ({why}) is ambiguous; give the output path without it")
        prefix = prefix / part
    loc = _location(path)
    cwd = Path.cwd().resolve()
    if _within(cwd, loc) or _within(cwd, path.resolve()):
        raise FaceswapError(f"{path}: is the current folder or one above it, which is never an output; "
                            "give a new folder for the output")
    return loc if ".." in path.parts else path


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
        if path.suffix.lower() in (".onnx", ".dfm"):  # `faceswap export`'s graphs carry the tag as metadata
            import onnx

            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
            return props.get("synthetic_media") == "true" and props.get("generator", "").startswith("faceswap")
    except Exception:  # unreadable: not recognisably ours
        return False
    return False


def made_by_faceswap(path: str | os.PathLike) -> bool:
    """True for what this program wrote: a folder holding its output marker
    (written before anything else goes in), or a file carrying its synthetic-media tag."""
    path = Path(path)
    if path.is_dir():
        marker = path / OUTPUT_MARKER
        try:
            return marker.is_file() and not marker.is_symlink() and marker.read_text() == MARKER_TEXT
        except (OSError, UnicodeDecodeError):
            return False
    return path.is_file() and _tagged_file(path)


def mark_output_folder(folder: str | os.PathLike) -> None:
    """Mark a folder as made by this program, so that --force may later replace what it wrote there."""
    marker = Path(folder) / OUTPUT_MARKER
    if not marker.is_symlink():
        marker.write_text(MARKER_TEXT)


def foreign_entries(folder: str | os.PathLike, own: Iterable[str] = ()) -> list[Path]:
    """What `folder` holds that this program did not write: anything that is
    not one of its file names, one of its folders (checked the same way) or a
    tagged output; a symbolic link never counts as its own. `own`: further
    names the caller's layout writes (taken whole)."""
    own = set(own)
    found = []
    for p in sorted(Path(folder).iterdir()):
        if p.is_symlink():
            found.append(p)
        elif p.name in own:
            continue
        elif p.is_dir():
            found += foreign_entries(p) if _OWN_FOLDERS.fullmatch(p.name) else [p]
        elif not (_OWN_FILES.fullmatch(p.name) or _tagged_file(p)):
            found.append(p)
    return found


def _through_link(path: Path) -> Path | None:
    """The first folder of the typed path that is a symbolic link (the folders
    above the current one excepted: a system may link those)."""
    cwd_chain = {Path.cwd(), *Path.cwd().parents}
    prefix = Path(path.anchor) if path.is_absolute() else Path(".")
    for part in path.parts[1 if path.is_absolute() else 0:-1]:
        prefix = prefix / part
        if prefix.is_symlink() and prefix.absolute() not in cwd_chain:
            return prefix
    return None


def check_replace(path: str | os.PathLike, in_use: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Refuse (FaceswapError) to replace `path` unless this program wrote it and
    it neither is, holds, nor lies inside anything in `in_use` (inputs, the model,
    alignments). Paths are compared resolved, symlinks followed, and also as given;
    a path that is or runs through a symbolic link is never replaced."""
    path = output_path(path)
    loc = _location(path)
    real = path.resolve()
    link = path if path.is_symlink() else _through_link(Path(path))
    if link is not None:
        raise FaceswapError(f"{path}: {'is' if link == path else 'runs through'} a symbolic link ({link}); --force "
                            "replaces only real files and folders faceswap wrote; choose another output")
    for used in in_use:
        if used is None:
            continue
        used = Path(used)
        for u in {_location(used), used.resolve()}:
            if _within(u, loc) or _within(u, real) or _within(loc, u) or _within(real, u):
                raise FaceswapError(f"{path}: --force would delete {used} (an input, model or alignments file "
                                    "in use); choose an output outside it")
    if path.exists() and not made_by_faceswap(path):
        what = (f"folder has no {OUTPUT_MARKER} file (faceswap marks every folder it makes), so it"
                if path.is_dir() else "file carries no faceswap synthetic-media tag, so it")
        raise FaceswapError(f"{path}: {what} was not written by faceswap and --force will not replace it; "
                            "choose another output or delete it yourself")
    return path


def remove_output(path: str | os.PathLike, in_use: Iterable[str | os.PathLike | None] = (),
                  own: Iterable[str] = ()) -> None:
    """Delete an earlier output after `check_replace` allows it. A folder goes
    only when everything in it is this program's (see `foreign_entries`);
    otherwise nothing is deleted and the first foreign entry is named."""
    path = check_replace(path, list(in_use))
    if path.is_dir():
        foreign = foreign_entries(path, own)
        if foreign:
            raise FaceswapError(f"{path}: holds {foreign[0]}, which faceswap did not write; --force replaces only "
                                "faceswap's own files: move it out or choose another output")
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def prepare_output(path: str | os.PathLike, force: bool, is_dir: bool = False,
                   in_use: Iterable[str | os.PathLike | None] = (), own: Iterable[str] = ()) -> Path:
    """Refuse to overwrite an existing output unless `force`; with `force`,
    remove an existing output folder (only one this program made, see
    `remove_output`) so that no stale files stay in it. A folder is created
    and marked as this program's."""
    path = output_path(path)
    if path.exists() and not (is_dir and path.is_dir() and not any(path.iterdir())):
        if not force:
            raise FaceswapError(f"{path}: output already exists; pass --force to overwrite it")
        if path.is_dir() and not is_dir:
            raise FaceswapError(f"{path}: is a folder, expected a file path")
        if is_dir and not path.is_dir():
            raise FaceswapError(f"{path}: is a file, expected a folder path")
        if is_dir:
            remove_output(path, in_use, own)
        else:
            check_replace(path, list(in_use))
    if is_dir:
        path.mkdir(parents=True, exist_ok=True)
        mark_output_folder(path)
    return path
