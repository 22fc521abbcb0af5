"""`extract`: a video, an image or a folder of images -> a faceset folder.

Frames stream from `faceswap.video.FrameReader` in small chunks (memory stays
flat however long the video), faces are found by the `Tracker` (full MTCNN on
a downscaled key frame, cheap O-net tracking in between), aligned by a
similarity transform to the template, and written as PNGs beside
`alignments.json`. The JSON is rewritten atomically every few seconds with
`"done"` (frames below it are finished) and `"complete": false`, so a killed
run resumes where it stopped and a half-written faceset never reads as whole.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceswap.errors import FaceswapError, user_os_error
from faceswap.extract.align import DEFAULT_COVERAGE, LandmarkSmoother, align
from faceswap.extract.faceset import (ALIGNMENTS_NAME, Alignments, face_file, fingerprint_mismatch,
                                      first_missing_frame, source_fingerprint)
from faceswap.extract.like import like_filter
from faceswap.fileio import (OUTPUT_MARKER, check_writable, foreign_entries, made_by_faceswap, mark_output_folder,
                             output_path, remove_output, remove_stale_temps)

SAVE_EVERY_S = 5.0
# zlib level 1 with the SUB filter: ~2x faster than OpenCV's default, files ~10% larger
_PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]


def _prefetch(iterable, depth: int):
    """Iterate `iterable` in a background thread, `depth` items ahead (decoding
    releases the GIL, so reading overlaps detection). Exceptions re-raise here."""
    items: queue.Queue = queue.Queue(maxsize=max(1, depth))
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as e:  # handed to the consumer
            items.put(e)

    thread = threading.Thread(target=work, name="extract-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


@dataclass
class ExtractSummary:
    """What one `extract` run did (counts cover the whole faceset after a resume)."""

    output: Path
    frames_read: int = 0            # frames decoded by this run (all, including the ones --every skips)
    frames_processed: int = 0       # frames examined for faces (whole faceset)
    faces_written: int = 0          # aligned crops in the faceset
    frames_without_face: int = 0
    blurry: int = 0                 # faces dropped by the blur filter
    skipped: list[tuple[str, str]] = field(default_factory=list)   # unreadable images: (file, reason)
    truncated: bool = False
    truncation_note: str | None = None
    resumed_from: int = 0           # first frame index this run looked at
    full_detections: int = 0
    faces_embedded: int = 0         # identity embeddings computed (with `like`)
    most_faces: int = 0             # most faces seen in one frame (on key frames)
    seconds: float = 0.0
    fps: float = 0.0                # frames examined per second by this run

    def __str__(self) -> str:
        lines = [
            f"extract: {self.output}: {self.faces_written} faces written from {self.frames_processed} frames "
            f"({self.frames_without_face} without a face"
            + (f", {self.blurry} blurry faces dropped" if self.blurry else "")
            + f"); {self.frames_read} frames read in {self.seconds:.1f} s ({self.fps:.1f} fps)"
            + (f", resumed at frame {self.resumed_from}" if self.resumed_from else "")
        ]
        if self.truncated:
            lines.append(f"warning: {self.truncation_note}")
        for f, why in self.skipped:
            lines.append(f"warning: skipped {f}: {why}")
        return "\n".join(lines)


def blur_score(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: low means blurry (Pech-Pacheco et al. 2000)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]), _PNG_FAST)
    if not ok:
        raise FaceswapError(f"{path}: could not encode the face image")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:  # not ndarray.tofile: its short-write error names neither file nor cause
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise user_os_error(e, path) from None


def _save_alignments(al: Alignments, output: Path) -> None:
    try:
        al.save(output / ALIGNMENTS_NAME)
    except OSError as e:
        raise user_os_error(e, output / ALIGNMENTS_NAME) from None


def _open_output(output: Path, source: Path, settings: dict, force: bool,
                 in_use: list[Path]) -> tuple[Alignments | None, bool]:
    """Decide between a fresh output and a resume. Returns (alignments to resume or None, created)."""
    if output.exists() and not output.is_dir():
        raise FaceswapError(f"{output}: exists and is not a folder; choose another output folder")
    if force and output.exists() and any(output.iterdir()):
        remove_output(output, in_use)  # only what this program wrote, never a folder holding an input
    align_path = output / ALIGNMENTS_NAME
    if output.is_dir() and made_by_faceswap(output):
        # what a killed run left half-written: temp files of its PNGs and JSON
        remove_stale_temps(output, r"\.\d{6,}_\d+\.png\.tmp|\.alignments\.json\..+\.tmp.*", keep=in_use)
        if not align_path.is_file() and not foreign_entries(output):
            # stopped before its first alignments.json: nothing is finished, start afresh
            for p in output.iterdir():
                if p.name != OUTPUT_MARKER:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
    if not output.exists() or not [p for p in output.iterdir() if p.name != OUTPUT_MARKER]:
        created = not output.exists()
        output.mkdir(parents=True, exist_ok=True)
        mark_output_folder(output)
        return None, created
    if not align_path.is_file():
        raise FaceswapError(f"{output}: output folder exists and is not a faceset; choose an empty or new output folder")
    old = Alignments.load(align_path)
    same_source = Path(old.source).resolve() == source.resolve() and not fingerprint_mismatch(
        old.extra.get("fingerprint"), source)
    if not same_source or old.extra.get("settings") != settings:
        what = "another source" if not same_source else "other settings"
        raise FaceswapError(f"{output}: holds a faceset of {what}; pass --force to overwrite it")
    gap = first_missing_frame(old)
    if gap is not None:  # frames removed from a finished faceset: extract them again from there
        old.done = min(old.done, gap)
        old.extra["complete"] = False
    return old, False


def extract(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    size: int = 256,
    coverage: float = DEFAULT_COVERAGE,
    every: int = 1,
    max_faces: int = 1,
    min_size: int = 40,
    threshold: float = 0.9,
    blur: float | None = None,
    detect_size: int = 640,
    redetect_every: int = 25,
    smooth: bool = False,
    device: str | None = None,
    batch_size: int = 8,
    like: list | None = None,
    like_threshold: float = 0.6,
    rotate: bool = True,
    force: bool = False,
    progress: bool = True,
    threads: int | str | None = "auto",
) -> ExtractSummary:
    """Detect, align and crop the faces of `input` into the faceset folder `output`.

    input: a video, an image, or a folder of images. size: side of the aligned
    crops; coverage: fraction of the crop the tight face takes (smaller shows
    more around it). every: examine every Nth frame. max_faces: faces kept per
    frame, largest first (0: all). min_size: smallest face side in pixels;
    threshold: detector score a face needs. blur: drop crops whose variance of
    the Laplacian is below this (None: keep all). detect_size: longest side
    frames shrink to for full detection; redetect_every: full detection at
    least every N examined frames (1 disables tracking). smooth: temporal
    smoothing of landmarks. like: photos of one person: keep only faces of
    that person (identity distance under `like_threshold`, recorded per face
    as "identity"), `max_faces` largest of them; without it, the `max_faces`
    largest faces are kept whoever they are (a warning says when frames hold
    more). rotate: also find faces turned by 90/180/270 degrees when no
    upright face is found. Re-running into an unfinished `output` of the same
    source and settings resumes; any other existing output needs `force`.

    Raises FaceswapError for unreadable input, an output in the way, or when
    no face is found at all.
    """
    from faceswap.extract.detect import Detector
    from faceswap.extract.track import Tracker
    from faceswap.video import FrameReader

    for name, value, low in (("size", size, 16), ("every", every, 1), ("batch-size", batch_size, 1),
                             ("redetect-every", redetect_every, 1), ("max-faces", max_faces, 0), ("min-size", min_size, 0),
                             ("detect-size", detect_size, 0)):
        if value < low:
            raise FaceswapError(f"--{name} {value}: must be at least {low}")
    if not 0 < coverage <= 2:
        raise FaceswapError(f"--coverage {coverage}: must be in (0, 2]; 0.75 shows the whole face with a margin")
    if not 0 <= threshold < 1:
        raise FaceswapError(f"--threshold {threshold}: must be in [0, 1)")
    source, output = Path(input), output_path(output)
    reader = FrameReader(source, every=every)  # FaceswapError: missing, empty, not a video
    info = reader.info
    settings = {"size": size, "coverage": coverage, "every": every, "max_faces": max_faces, "min_size": min_size,
                "threshold": threshold, "blur": blur, "smooth": smooth}
    if like:  # only when used: facesets written before these options still resume
        settings.update(like=[str(Path(p).resolve()) for p in like], like_threshold=like_threshold)
    if not rotate:
        settings["rotate"] = False
    check_writable(output)
    resume, created = _open_output(output, source, settings, force, [source, *(like or [])])
    al = resume or Alignments(
        source=str(source.resolve()), width=info.width, height=info.height, fps=info.fps,
        frame_count=info.frame_count, size=size, coverage=coverage,
        extra={"settings": settings, "complete": False,
               "fingerprint": source_fingerprint(source, getattr(info, "duration", None))},
    )
    if resume is not None and resume.extra.get("complete"):
        return _finished_summary(output, resume, progress)
    # Before the first crop: from its first file on, the folder reads as an unfinished
    # faceset that the next run resumes (or --force replaces), whatever stops this one.
    _save_alignments(al, output)
    start = -(-al.done // every) * every  # next frame on the --every grid
    reader = FrameReader(source, every=every, start=start) if start else reader

    try:
        detector = Detector(device=device, min_size=min_size, detect_size=detect_size)
        chooser = like_filter(like, like_threshold, detector)
        _pick_threads(detector, info, threads, progress)
    except BaseException:
        if resume is None:  # leave no empty folder behind a failed start
            _discard(output, created)
        raise
    tracker = Tracker(detector, max_faces=max_faces, min_size=min_size, threshold=threshold,
                      redetect_every=redetect_every, rotate=rotate, like=chooser)
    smoothers: dict[int, LandmarkSmoother] = {}
    summary = ExtractSummary(output=output, resumed_from=start)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(reader) or None,
                   desc=f"extract {source.name}", unit="frame", dynamic_ncols=True, file=sys.stderr)
    t0 = last_save = time.monotonic()
    examined = 0
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-writer")
    writes: list[Future] = []

    def flush() -> None:
        """Wait for the PNGs queued so far (alignments.json lists only written files)."""
        for w in writes:
            w.result()
        writes.clear()

    def save() -> None:
        flush()
        _save_alignments(al, output)

    def run_chunk(chunk) -> None:
        nonlocal examined
        found = tracker.process([f.image for f in chunk])
        for frame, faces in zip(chunk, found):
            entries = []
            for k in range(len(faces)):
                landmarks = faces.landmarks[k]
                if smooth:
                    landmarks = smoothers.setdefault(k, LandmarkSmoother())(landmarks)
                crop, matrix = align(frame.image, landmarks, size, coverage)
                if blur is not None and blur_score(crop) < blur:
                    summary.blurry += 1
                    continue
                name = face_file(frame.index, len(entries))
                writes.append(writer.submit(_write_png, output / name, crop))
                entry = {
                    "box": [round(float(v), 2) for v in faces.boxes[k]],
                    "score": round(float(faces.scores[k]), 5),
                    "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in landmarks],
                    "matrix": [[float(v) for v in row] for row in matrix],
                    "file": name,
                }
                if faces.distance is not None:
                    entry["identity"] = round(float(faces.distance[k]), 4)
                entries.append(entry)
            al.frames[frame.index] = entries
            al.done = frame.index + 1
        examined += len(chunk)
        if len(writes) > 4 * batch_size:
            flush()
        if bar is not None:
            bar.update(len(chunk))
            bar.set_postfix(faces=al.face_count, refresh=False)

    try:
        chunk = []
        for frame in _prefetch(reader, 2 * batch_size):
            chunk.append(frame)
            if len(chunk) >= batch_size:
                run_chunk(chunk)
                chunk = []
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    save()
                    last_save = time.monotonic()
        if chunk:
            run_chunk(chunk)
        flush()
    except BaseException:
        if al.done > 0:  # keep what is finished: the next run resumes from it
            try:
                save()
            except Exception:
                pass
        elif resume is None:  # nothing finished: leave no empty folder that looks like an output
            writer.shutdown(wait=True)
            _discard(output, created)
        raise
    finally:
        writer.shutdown(wait=True)
        if bar is not None:
            bar.close()

    summary.seconds = time.monotonic() - t0
    summary.fps = examined / summary.seconds if summary.seconds > 0 else 0.0
    summary.frames_read = reader.frames_read
    summary.frames_processed = len(al.frames)
    summary.faces_written = al.face_count
    summary.frames_without_face = sum(1 for v in al.frames.values() if not v)
    summary.full_detections = tracker.full_detections
    summary.faces_embedded = chooser.embedded if chooser is not None else 0
    summary.most_faces = tracker.most_faces
    summary.skipped = list(reader.skipped)
    if reader.truncated:
        summary.truncated = True
        decoded = reader.frames_read if not info.is_image else start + reader.frames_read
        claim = f" of the {info.frame_count} its header claims" if info.frame_count else ""
        detail = f" ({reader.error})" if getattr(reader, "error", None) else ""
        summary.truncation_note = f"{source}: video is truncated or damaged: decoded {decoded} frames{claim}{detail}; extracted what decoded"

    if summary.frames_processed == 0:
        _discard(output, created)
        raise FaceswapError(f"{source}: no frame could be read" + (f" ({reader.error})" if getattr(reader, "error", None) else ""))
    if summary.faces_written == 0:
        _discard(output, created)
        why = f"{summary.blurry} faces were all dropped as blurry (--blur {blur})" if summary.blurry else (
            f"no face found in {summary.frames_processed} frames (--threshold {threshold}, --min-size {min_size})")
        raise FaceswapError(f"{source}: {why}; nothing was written")

    if summary.most_faces > 1 and not like and max_faces == 1:
        import warnings

        warnings.warn(f"{source}: some frames hold {summary.most_faces} faces; kept the largest in each "
                      f"(--like PHOTO keeps one person, --max-faces 0 keeps all)", stacklevel=2)
    al.extra.update(complete=True, truncated=summary.truncated, frames_read=reader.frames_read,
                    skipped=[list(s) for s in summary.skipped])
    _save_alignments(al, output)
    if progress:
        print(summary, file=sys.stderr)
    return summary


def _pick_threads(detector, info, threads, progress: bool) -> None:
    """Torch threads for detection as train chooses them: on a CPU, "auto" times a
    detection on a frame of this video's size with one thread and with all cores
    and keeps the faster (with another program busy on one of two cores, two
    threads made the same extract 7x slower than one)."""
    from faceswap.runtime import pick_threads

    if detector.device.type != "cpu":
        return
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (info.height, info.width, 3), dtype=np.uint8)
    _, how = pick_threads(threads, lambda: detector.detect([frame]), repeats=1)
    if progress:
        print(f"extract: torch threads {how}", file=sys.stderr, flush=True)


def _finished_summary(output: Path, al: Alignments, progress: bool) -> ExtractSummary:
    """Re-running on a complete faceset: nothing to do; report what is there."""
    summary = ExtractSummary(
        output=output, frames_processed=len(al.frames), faces_written=al.face_count,
        frames_without_face=sum(1 for v in al.frames.values() if not v), resumed_from=al.done,
        truncated=bool(al.extra.get("truncated")), skipped=[tuple(s) for s in al.extra.get("skipped", [])],
    )
    if progress:
        print(f"extract: {output}: already complete ({summary.faces_written} faces from "
              f"{summary.frames_processed} frames); pass --force to extract again", file=sys.stderr)
    return summary


def _discard(output: Path, created: bool) -> None:
    """Remove an output that holds nothing useful, so it cannot pass for a faceset:
    the folder if this run made it, else only the files this run wrote."""
    if created:
        shutil.rmtree(output, ignore_errors=True)
        return
    for name in (ALIGNMENTS_NAME, OUTPUT_MARKER):
        (output / name).unlink(missing_ok=True)
