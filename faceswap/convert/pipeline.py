"""convert(): swap the faces of a video, an image or a folder of images.

Per frame: find the faces (reused alignments, or detection and tracking as
extract does), smooth their landmarks over time (video), align each face to
the model's template at the model's resolution and coverage, swap the faces
in batches through the decoder of `to`, then per face build the mask, correct
the colour (in aligned space) and warp face and mask back with the alignment
matrix to blend them into the frame. Frames without a face pass unchanged.

Four stages overlap, joined by small bounded queues (memory stays flat with
the video's length):

    read (decode) -> locate + crop -> swap (batched model) -> blend + write (encode)

Each stage is a thread; OpenCV, PyAV and torch release the GIL in their heavy
work, so the stages really run side by side. The model runs on the GPU when
there is one.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import cv2
import numpy as np
import torch

from faceswap.convert.blend import check_blend, paste_face, watermark as draw_watermark
from faceswap.convert.color import DEFAULT_COLOR, check_color
from faceswap.convert.sharpen import check_sharpen, resolve_sharpen
from faceswap.convert.faces import FaceRenderer
from faceswap.convert.files import ImageSink, VideoSink, check_output, load_alignments, output_kind, pick_identity
from faceswap.convert.hold import HOLD_FRAMES, CoverHold, fill_gaps
from faceswap.convert.masks import MaskMaker, resolve_mask_kind
from faceswap.face_region import RegionMasker, make_region_masker
from faceswap.occlusion import OcclusionMasker, apply_cover, make_masker
from faceswap.convert.smoothing import LandmarkSmoother
from faceswap.errors import FaceswapError, user_os_error
from faceswap.fileio import check_writable, output_path, remove_stale_temps

_END = object()


BACKEND_NAMES = {"torch": "torch fp32", "bf16": "torch bf16", "onnx": "ONNX Runtime"}


@dataclass
class ConvertSummary:
    """What a conversion did."""

    output: Path
    frames: int = 0
    faces_swapped: int = 0
    frames_without_face: int = 0
    seconds: float = 0.0
    to: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False
    held: int = 0  # frames where a face hidden by cover was kept from its neighbours (detection path)
    backend: str = ""  # what ran the model: torch, bf16 or onnx

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        text = (f"{self.output}: {self.frames} frames, {self.faces_swapped} faces swapped to {self.to!r}, "
                f"{self.frames_without_face} frames without a face ({self.fps:.1f} fps"
                + (f", model through {BACKEND_NAMES.get(self.backend, self.backend)})" if self.backend else ")"))
        if self.held:
            text += f"; a covered face held on {self.held} frames"
        if self.skipped:
            text += f"; skipped {len(self.skipped)} unreadable images"
        if self.truncated:
            text += "; the input ended early (truncated file)"
        return text


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
class _Pipe:
    """Bounded queue whose put/get give up when the pipeline is stopping."""

    def __init__(self, stop: threading.Event, size: int):
        self.q: queue.Queue = queue.Queue(maxsize=size)
        self.stop = stop

    def put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Any]:
        while not self.stop.is_set():
            try:
                item = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item


def _stage(name: str, fn: Callable[[], None], out: _Pipe | None, errors: list, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            errors.append(e)
            stop.set()
        finally:
            if out is not None:
                out.put(_END)

    return threading.Thread(target=run, name=f"convert-{name}", daemon=True)


def _limit_torch_threads(device: torch.device) -> None:
    if device.type == "cpu":
        torch.set_num_threads(1)


class _Locator:
    """Landmarks of the faces in each frame: from alignments, or found by
    extract's detector and tracker (full MTCNN on key frames, O-net tracking
    in between). like: a LikeFilter keeping one person's faces; without it
    every face is swapped, and a frame with several faces warns once."""

    def __init__(self, frames: dict[int, list[np.ndarray]] | None, device, min_size: int = 40,
                 like=None, rotate: bool = True, source: Path | None = None, hold: CoverHold | None = None):
        self.frames = frames
        self.tracker = None
        self.source = source
        self.warned = like is not None
        self.hold = hold
        if frames is not None and hold is not None:  # both sides of a gap are known: interpolate
            self.frames = fill_gaps(frames, hold.max_hold)
            self.hold = None
        if frames is None:
            from faceswap.extract.detect import Detector
            from faceswap.extract.track import Tracker

            self.tracker = Tracker(Detector(device=device, min_size=min_size), max_faces=0, min_size=min_size,
                                   rotate=rotate, like=like)

    def __call__(self, index: int, image: np.ndarray) -> list[np.ndarray]:
        faces = self.frames.get(index, []) if self.frames is not None else list(
            self.tracker.process([image])[0].landmarks)
        if self.hold is not None:
            faces = self.hold(image, faces)
        if len(faces) > 1 and not self.warned:
            import warnings

            self.warned = True
            warnings.warn(f"{self.source}: frame {index} holds {len(faces)} faces; every face is swapped "
                          f"(--like PHOTO swaps one person only)", stacklevel=2)
        return faces


def _frames_with_faces(reader, locate: _Locator, smoother: LandmarkSmoother | None,
                       renderer: FaceRenderer) -> Iterator[tuple[Any, list[tuple]]]:
    """Each frame with its faces: (matrix frame -> paste crop, original paste crop, model input)."""
    for frame in reader:
        landmarks = locate(frame.index, frame.image)
        if smoother is not None:
            landmarks = smoother(frame.index, landmarks)
        yield frame, [renderer.crop(frame.image, lm) for lm in landmarks]


def _swap_batches(items: Iterable, renderer: FaceRenderer, batch_size: int,
                  max_frames: int, occlusion: OcclusionMasker | None = None,
                  region: RegionMasker | None = None) -> Iterator[tuple[Any, list[tuple]]]:
    """Group frames until `batch_size` faces (or `max_frames` frames), run the
    model (and the occlusion and face-region models) once on the group, and give
    each frame back with its swapped faces (matrix, original crop, swapped face at
    paste size, learned mask or None, cover or None, face region or None)."""
    pending: list = []
    n_faces = 0

    def flush():
        outs = renderer.swap([x for _, faces in pending for _, _, x in faces])
        originals = [c for _, faces in pending for _, c, _ in faces]
        covers = occlusion(originals) if occlusion is not None else [None] * len(originals)
        regions = region(originals) if region is not None else [None] * len(originals)
        k = 0
        for frame, faces in pending:
            swapped = [(m, c, *outs[k + j], covers[k + j], regions[k + j]) for j, (m, c, _) in enumerate(faces)]
            k += len(faces)
            yield frame, swapped

    for frame, faces in items:
        pending.append((frame, faces))
        n_faces += len(faces)
        if n_faces >= batch_size or len(pending) >= max_frames:
            yield from flush()
            pending, n_faces = [], 0
    if pending:
        yield from flush()


# ---------------------------------------------------------------------------------------------
# convert()
# ---------------------------------------------------------------------------------------------
def convert(
    input: str | os.PathLike,
    model_dir: str | os.PathLike,
    output: str | os.PathLike,
    *,
    to: str | None = None,
    alignments: str | os.PathLike | None = None,
    mask: str = "auto",
    mask_erode: float = 0.0,
    mask_blur: float = 5.0,
    occlusion: bool | None = None,
    face_region: bool | None = None,
    occluder: str | os.PathLike | None = None,
    color: str = DEFAULT_COLOR,
    blend: str = "alpha",
    sharpen: float | None = None,
    smooth: bool = True,
    hold_frames: int = HOLD_FRAMES,
    detail: bool = True,
    watermark: str | None = None,
    device: str | None = None,
    batch_size: int = 16,
    like: list | None = None,
    like_threshold: float = 0.6,
    rotate: bool = True,
    force: bool = False,
    progress: bool = True,
    backend: str = "auto",
) -> ConvertSummary:
    """Swap every face of `input` (a video, an image or a folder of images)
    with identity `to` of the model in `model_dir`; write `output`.

    Video -> H.264 mp4 with the input's audio copied, the same frame count,
    fps and size; image -> PNG; folder -> folder of PNGs. Every output is
    tagged as synthetic media (container metadata / PNG tEXt). mask_erode and
    mask_blur are percentages of the face crop (negative erode dilates).
    occlusion: keep the original pixels where the occlusion model
    (weights/occluder) finds the face covered (a hand, a microphone, glasses),
    on top of any mask; None: on when the occlusion model is installed.
    occluder: the occlusion model's folder (default weights/occluder).
    face_region: multiply the mask by A's face region (the face-region model,
    weights/face_region: skin up to the hairline, no hair, ears or neck), so
    the blend ends where skin meets hair; None: on when it is installed
    (never with mask "box").
    detail: upscale the model's face with the identity's detail upsampler
    when the model directory has one (`faceswap refine`); bicubic otherwise.
    sharpen: strength of a halo-free unsharp mask on the swapped face
    (faceswap.convert.sharpen; 0 turns it off; None: 1 when the face comes
    from a detail upsampler, 0 when it is a bicubic enlargement).
    like: photos of one person: swap only that person's faces (identity
    distance under `like_threshold`), leave everyone else untouched; without
    it every face found is swapped (a warning says when a frame holds
    several). rotate: also find faces turned by 90/180/270 degrees.
    hold_frames: a face that cover hides from the detector (video) is kept
    from its neighbours for at most this many frames (faceswap.convert.hold;
    0: never), interpolated between both sides with `alignments`.
    backend: what runs the model and its upsampler: "auto" (on a CPU, the fastest
    of torch fp32, torch bf16 and ONNX Runtime, timed here; see
    faceswap.convert.faces), "torch", "bf16" or "onnx".
    Raises FaceswapError (one line) for a missing or unreadable input, a model
    directory that is not a model, an unknown identity or option, or an
    existing output without `force`; nothing is overwritten then.
    """
    from faceswap import __version__
    from faceswap.runtime import pick_device
    from faceswap.train import load_swap_model
    from faceswap.video import SYNTHETIC_TAGS, FrameReader

    start = time.perf_counter()
    input_path, output, model_dir = Path(input), output_path(output), Path(model_dir)
    check_color(color)
    check_blend(blend)
    check_sharpen(sharpen)
    if batch_size < 1:
        raise FaceswapError(f"--batch-size {batch_size}: must be 1 or more")
    reader = FrameReader(input_path)  # FaceswapError for a missing / unreadable input
    info = reader.info
    kind = output_kind(input_path, output, info.is_image)
    align_path = Path(alignments) if alignments is not None else None
    if align_path is not None and align_path.is_dir():  # a faceset folder
        align_path = align_path / "alignments.json"
    in_use = (input_path, model_dir, align_path, *(like or []))
    check_output(input_path, output, force, in_use)
    check_writable(output)
    # what a killed convert to this output left: its partial video or image folder (never an input)
    remove_stale_temps(output.parent, rf"\.{re.escape(output.name)}\.(.+\.)?partial(\.mp4)?", keep=in_use)
    frames_lm, align_cov = load_alignments(align_path, info) if align_path is not None else (None, None)
    if like and align_path is not None:
        raise FaceswapError(f"{align_path}: --like chooses faces while detecting; drop --alignments, or pass the "
                            f"alignments of `faceswap extract --like` without --like")
    if like:
        from faceswap.extract.like import like_filter

        like = like_filter(like, like_threshold)

    dev = pick_device(device)
    model, meta = load_swap_model(model_dir, dev)
    model.eval()
    ident = pick_identity(to, list(model.identities), meta, model_dir, align_path)
    mask_kind = resolve_mask_kind(mask, bool(model.has_mask))
    from faceswap.extract.align import DEFAULT_COVERAGE

    coverage = float(meta.get("coverage") or align_cov or DEFAULT_COVERAGE)  # the model's crops: its faceset's
    # the backend is chosen by timing it, on the one torch thread the swap stage runs with
    caller_threads = torch.get_num_threads()
    _limit_torch_threads(dev)
    try:
        renderer = FaceRenderer(model, model_dir, ident, coverage, dev, detail=detail, backend=backend)
    finally:
        torch.set_num_threads(caller_threads)
    masks = MaskMaker(mask_kind, renderer.paste_size, renderer.template, erode=mask_erode, blur=mask_blur)
    occlusion_masker = make_masker(occlusion, renderer.paste_size, coverage, dev, occluder)
    # the whole crop ("box") means the user wants no outline at all
    region_masker = (make_region_masker(face_region, renderer.paste_size, coverage, dev)
                     if mask_kind != "box" else None)
    sharpen = resolve_sharpen(sharpen, renderer.detail is not None)
    smoother = LandmarkSmoother(info.fps or 30.0) if (smooth and kind == "video") else None
    hold = None
    if kind == "video" and hold_frames > 0:
        cover = occlusion_masker.cover_at(renderer, masks.region) if occlusion_masker is not None else None
        hold = CoverHold(hold_frames, cover=cover)
    locate = _Locator(frames_lm, dev, like=like or None, rotate=rotate, source=input_path, hold=hold)

    tags = SYNTHETIC_TAGS(__version__)
    summary = ConvertSummary(output=output, to=ident, backend=renderer.backend)
    stop = threading.Event()
    errors: list[BaseException] = []
    # Frames in flight (memory): at most ~4 + 8 + batch_size + 8 + 4, whatever the video's length.
    read_q, located_q, swapped_q, blended_q = _Pipe(stop, 4), _Pipe(stop, 8), _Pipe(stop, 8), _Pipe(stop, 4)

    def read_stage():
        for frame in reader:
            if stop.is_set():
                return
            read_q.put(frame)

    def locate_stage():
        _limit_torch_threads(dev)
        for item in _frames_with_faces(read_q, locate, smoother, renderer):
            located_q.put(item)

    def swap_stage():
        _limit_torch_threads(dev)
        for item in _swap_batches(located_q, renderer, batch_size, max_frames=batch_size,
                                  occlusion=occlusion_masker, region=region_masker):
            swapped_q.put(item)

    def blend_stage():
        for frame, faces in swapped_q:
            for matrix, original, face, learned, cover, region in faces:
                mask = masks(learned) if region is None else masks(learned) * region
                paste_face(frame.image, face, original, apply_cover(mask, cover), matrix, color=color,
                           sharpen=sharpen, blend=blend)
            if watermark:
                draw_watermark(frame.image, watermark)
            blended_q.put((frame, len(faces)))

    threads = [_stage("read", read_stage, read_q, errors, stop),
               _stage("locate", locate_stage, located_q, errors, stop),
               _stage("swap", swap_stage, swapped_q, errors, stop),
               _stage("blend", blend_stage, blended_q, errors, stop)]
    try:
        sink = VideoSink(output, info, tags) if kind == "video" else ImageSink(output, kind, tags, in_use)
    except OSError as e:
        raise user_os_error(e, output) from None
    from tqdm import tqdm

    bar = tqdm(total=len(reader) or None, unit="frame", desc="convert", disable=not progress, dynamic_ncols=True)
    # The stages are the parallelism: OpenCV's and torch's own pools would only
    # contend with them (spinning OpenMP workers cost 2-10x on a busy 2-core CPU).
    cv_threads, torch_threads = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(1)
    _limit_torch_threads(dev)
    try:
        for t in threads:
            t.start()
        for frame, n_faces in blended_q:  # encoding runs here, beside the other stages
            sink.write(frame)
            summary.frames += 1
            summary.faces_swapped += n_faces
            summary.frames_without_face += not n_faces
            bar.update(1)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        if summary.frames == 0:
            raise FaceswapError(f"{input_path}: no frame could be read")
    except BaseException as e:
        stop.set()
        try:
            sink.abort()
        except OSError:  # the disk that failed the write may fail the clean-up too
            pass
        if isinstance(e, OSError):
            raise user_os_error(e, output) from None
        raise
    finally:
        bar.close()
        stop.set()
        # A stage still inside torch or FFmpeg when the interpreter exits aborts the whole
        # process ("terminate called without an active exception"): let each one finish first.
        for t in threads:
            if t.is_alive():
                t.join(timeout=30)
        cv2.setNumThreads(cv_threads)
        torch.set_num_threads(torch_threads)
    try:
        sink.close()
    except OSError as e:  # the encoder flushes its last frames here
        sink.abort()
        raise user_os_error(e, output) from None
    summary.held = locate.hold.held_frames if locate.hold is not None else 0
    summary.skipped = list(reader.skipped)
    summary.truncated = bool(reader.truncated)
    summary.seconds = time.perf_counter() - start
    return summary
