"""Files of a conversion: the input's alignments, the identity to paint, the
output checks, and the sinks that write frames (H.264 mp4, or PNGs that carry
the synthetic-media tags in tEXt chunks), each atomically: a video goes to a
partial file renamed on success (faceswap.video.VideoWriter), images to a
temporary folder moved into place at the end. Nothing is overwritten without
`force`, and a failed run leaves the old output as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from faceswap.errors import FaceswapError, user_os_error
from faceswap.fileio import (check_replace, check_version, foreign_entries, mark_output_folder, read_json,
                             remove_output, umask_mode)


# ---------------------------------------------------------------------------------------------
def output_kind(input_path: Path, output: Path, is_image: bool) -> str:
    if input_path.is_dir():
        if output.exists() and not output.is_dir():
            raise FaceswapError(f"{output}: is a file; a folder of images converts into a folder")
        if output.suffix.lower() in (".mp4", ".png", ".jpg"):
            raise FaceswapError(f"{output}: a folder of images converts into a folder; give a folder path")
        return "folder"
    if is_image:
        if output.suffix.lower() != ".png":
            raise FaceswapError(f"{output}: images convert to PNG (which carries the synthetic-media tag); use a .png path")
        return "image"
    if output.suffix.lower() != ".mp4":
        raise FaceswapError(f"{output}: videos convert to H.264 mp4; use a .mp4 output path")
    return "video"


def check_output(input_path: Path, output: Path, force: bool, in_use: tuple = ()) -> None:
    """Refuse an output that is the input, or that exists without `force`; with
    `force`, refuse one this program did not write or that holds (or lies in)
    the input, the model or the alignments (see faceswap.fileio.check_replace)."""
    if output.exists() and output.resolve() == input_path.resolve():
        raise FaceswapError(f"{output}: is the input; choose another output path")
    if output.exists() and not (output.is_dir() and not any(output.iterdir())):
        if not force:
            raise FaceswapError(f"{output}: output already exists; pass --force to overwrite it")
        check_replace(output, (input_path, *in_use))
        foreign = foreign_entries(output) if output.is_dir() else []
        if foreign:
            raise FaceswapError(f"{output}: holds {foreign[0]}, which faceswap did not write; --force replaces only "
                                "faceswap's own files: move it out or choose another output")


def pick_identity(to: str | None, identities: list[str], meta: dict, model_dir: Path,
                  alignments: Path | None = None) -> str:
    """The decoder that paints the face: `to` as an identity name or as the
    name of a faceset the model was trained on; by default the other identity
    of a two-identity model (B, unless the alignments come from B's faceset)."""
    sets = {ident: meta.get(f"faceset_{ident}") for ident in identities}
    if to is None:
        if len(identities) != 2:
            raise FaceswapError(f"{model_dir}: the model has identities {', '.join(identities)}; pick one with --to")
        a, b = identities
        if alignments is not None and sets.get(b):
            if Path(sets[b]).resolve() == alignments.resolve().parent:
                return a
        return b
    if to in identities:
        return to
    for ident, faceset in sets.items():
        if faceset and to in (faceset, Path(faceset).name):
            return ident
    known = ", ".join(f"{i} ({Path(sets[i]).name})" if sets.get(i) else i for i in identities)
    raise FaceswapError(f"--to {to}: {model_dir} has no identity {to!r}; it has: {known}")


def load_alignments(path: Path, info) -> tuple[dict[int, list[np.ndarray]], float | None]:
    """Landmarks per frame from a faceset's alignments.json, checked against the input."""
    doc = read_json(path, "alignments file")
    check_version(path, doc.get("version"), 1, "alignments file")
    if not isinstance(doc.get("frames"), dict):
        raise FaceswapError(f"{path}: alignments file has no 'frames'; re-extract the faceset")
    w, h = doc.get("width"), doc.get("height")
    if (w, h) != (info.width, info.height):
        raise FaceswapError(f"{path}: alignments are for {w}x{h} frames, the input is {info.width}x{info.height}; "
                            "use the alignments of this video or leave out --alignments")
    n = doc.get("frame_count")
    if n is not None and info.frame_count is not None and int(n) != int(info.frame_count):
        raise FaceswapError(f"{path}: alignments are for {n} frames, the input has {info.frame_count}; "
                            "use the alignments of this video or leave out --alignments")
    if doc.get("complete") is False:
        raise FaceswapError(f"{path}: alignments are unfinished (extract stopped at frame {doc.get('done', 0)}); "
                            f"re-run `faceswap extract {info.path} -o {path.parent}` to finish them, "
                            "or leave out --alignments")
    from faceswap.extract.faceset import fingerprint_mismatch

    differs = fingerprint_mismatch(doc.get("fingerprint"), info.path)
    if differs:
        raise FaceswapError(f"{path}: alignments were made from another file ({differs}); "
                            "use the alignments of this video or leave out --alignments")
    frames: dict[int, list[np.ndarray]] = {}
    try:
        for key, faces in doc["frames"].items():
            frames[int(key)] = [np.asarray(f["landmarks"], np.float32).reshape(5, 2) for f in faces]
    except (KeyError, ValueError, TypeError) as e:
        raise FaceswapError(f"{path}: malformed face entry ({e}); re-extract the faceset") from None
    every = int((doc.get("settings") or {}).get("every") or 1)
    missing = [] if info.is_image else missing_frames(frames, int(doc.get("done") or 0), every)
    if missing:
        _check_gaps(path, missing, every)
        import warnings

        warnings.warn(f"{path}: {len(missing)} examined frames are missing from the alignments (from frame "
                      f"{missing[0]}); their faces are interpolated from the frames beside them", stacklevel=2)
    if every > 1 or missing:
        frames = fill_skipped(frames, every)
    keys = sorted(frames)
    for index in missing:  # before the first or after the last listed frame: the nearest one's faces
        if index not in frames and keys:
            frames[index] = list(frames[min(keys, key=lambda k: abs(k - index))])
    return frames, doc.get("coverage")


MAX_GAP = 12  # frames (half a second at 25 fps) that linear interpolation of a face still follows


def missing_frames(frames: dict, done: int, every: int) -> list[int]:
    """The frames extract examined (every `every`th below `done`) that hold no entry, not even an empty one."""
    return [i for i in range(0, done, every) if i not in frames]


def _check_gaps(path: Path, missing: list[int], every: int) -> None:
    """Refuse alignments with a run of missing frames too long to interpolate (A's face would show there)."""
    run_start, prev = missing[0], missing[0]
    for index in missing[1:] + [None]:
        if index is not None and index == prev + every:
            prev = index
            continue
        if prev - run_start + 1 > MAX_GAP:
            raise FaceswapError(f"{path}: frames {run_start}-{prev} are missing from the alignments (more than "
                                f"{MAX_GAP} in a row); re-run `faceswap extract` on the video to fill them, or leave "
                                "out --alignments")
        if index is not None:
            run_start = prev = index


def fill_skipped(frames: dict[int, list[np.ndarray]], every: int) -> dict[int, list[np.ndarray]]:
    """Landmarks for the frames `extract --every N` did not examine: linear
    between the examined neighbours when both hold faces (each face paired with
    the nearest one), else those of the nearer examined frame; so the face
    does not flip between A and B from one frame to the next."""
    out = dict(frames)
    keys = sorted(frames)
    for k0, k1 in zip(keys, keys[1:] + [keys[-1] + every] if keys else []):
        a, b = frames[k0], frames.get(k1, [])
        for f in range(k0 + 1, k1):
            if f in out:
                continue
            t = (f - k0) / (k1 - k0)
            if a and b:
                pairs = []
                for lm in a:
                    near = min(b, key=lambda other: float(np.abs(other.mean(0) - lm.mean(0)).sum()))
                    pairs.append((lm, near))
                out[f] = [((1 - t) * p + t * q).astype(np.float32) for p, q in pairs]
            elif a and (t <= 0.5 or k1 not in frames):  # after the last examined frame: hold it
                out[f] = list(a)
            else:
                out[f] = list(b) if t > 0.5 else []
    return out


# ---------------------------------------------------------------------------------------------
def png_info(tags: dict[str, str]):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in tags.items():
        info.add_text(key, value)
    info.add_text("Software", tags.get("generator", "faceswap"))
    return info


class ImageSink:
    """Writes PNGs (with the synthetic tags as tEXt chunks) into a temporary
    folder beside the output, moved into place only when all succeeded."""

    def __init__(self, output: Path, kind: str, tags: dict[str, str], in_use: tuple = ()):
        self.output, self.kind, self.tags, self.in_use = output, kind, tags, in_use
        output.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
        os.chmod(self.tmp, umask_mode(0o777))  # mkdtemp makes 0700; the output folder is an ordinary one
        if kind == "folder":
            mark_output_folder(self.tmp)

    def write(self, frame) -> None:
        from PIL import Image

        name = self.output.name if self.kind == "image" else f"{frame.name}.png"
        Image.fromarray(frame.image).save(self.tmp / name, pnginfo=png_info(self.tags))

    def close(self) -> None:
        if self.kind == "image":
            os.replace(self.tmp / self.output.name, self.output)
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.output.exists():  # checked again now: the folder may have changed while converting
            remove_output(self.output, self.in_use)
        os.replace(self.tmp, self.output)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class VideoSink:
    def __init__(self, output: Path, info, tags: dict[str, str]):
        from faceswap.video import VideoWriter

        try:
            self.writer = VideoWriter(output, info.rate if info.rate else info.fps, info.width, info.height,
                                      audio_from=info.path if info.has_audio else None, metadata=tags,
                                      time_base=info.time_base)
        except OSError as e:  # PyAV's errors may not carry the path
            raise user_os_error(e, output) from None

    def write(self, frame) -> None:
        self.writer.write(frame.image, frame.time)

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        try:
            self.writer.abort()
        except (OSError, ValueError):  # a failed disk can fail the clean close too
            pass
        Path(self.writer.partial).unlink(missing_ok=True)
