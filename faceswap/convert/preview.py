"""Preview convert's result on single frames, fast enough to follow a slider.

convert() streams a whole video; a preview wants one frame now, and then the
same frame again with another mask, colour or blend setting. The expensive
part (finding the faces, aligning them, the model pass) depends only on the
frame, the model and the smoothing; everything after it (mask, erode, blur,
colour, blend) is cheap per-face work in aligned space. So `FramePreview`
keeps the swapped faces of the last frames it rendered and re-blends them
for a setting change without running the model again. The per-face steps
are convert's own functions, so a preview looks like the converted frame.

    preview = FramePreview("a.mp4", "models/a2b", alignments="faces/a")
    swapped = preview.swap(120)              # model pass (cached per frame)
    image = preview.render(swapped, color="mean", mask_blur=8)   # re-blend only
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceswap.convert.blend import check_blend, paste_face, watermark as draw_watermark
from faceswap.convert.color import DEFAULT_COLOR, check_color
from faceswap.convert.faces import FaceRenderer
from faceswap.convert.files import load_alignments, pick_identity
from faceswap.convert.masks import MaskMaker, resolve_mask_kind
from faceswap.convert.sharpen import resolve_sharpen
from faceswap.convert.smoothing import LandmarkSmoother
from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.extract.detect import Detector
from faceswap.extract.track import select_faces
from faceswap.face_region import make_region_masker
from faceswap.occlusion import apply_cover, make_masker, missing_occluder
from faceswap.runtime import pick_device
from faceswap.train import load_swap_model
from faceswap.video import FrameReader


class FrameSource:
    """Random access to the frames of a video, an image or a folder of images.

    Decoding runs forward from the last frame read (a slider moving forward
    costs only the frames in between); a jump backwards reopens the file. The
    last `keep` frames are kept.
    """

    def __init__(self, path: str | os.PathLike, keep: int = 8):
        self.path = Path(path)
        self.info = FrameReader(self.path).info  # FaceswapError for a missing / unreadable input
        self._iter = None
        self._pos = -1
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.keep = keep

    def __len__(self) -> int:
        return len(FrameReader(self.path))

    def __getitem__(self, index: int) -> np.ndarray:
        index = int(index)
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        if self._iter is None or index <= self._pos:
            self._iter, self._pos = iter(FrameReader(self.path)), -1
        for frame in self._iter:
            self._pos = frame.index
            if frame.index >= index:
                self._cache[index] = frame.image
                while len(self._cache) > self.keep:
                    self._cache.popitem(last=False)
                return frame.image
        self._iter = None
        raise FaceswapError(f"{self.path}: has no frame {index}")


@dataclass
class SwappedFrame:
    """One frame after the model pass: per face (matrix frame -> paste crop,
    original crop, swapped face at paste size, learned mask or None, cover
    or None: what the occlusion model finds in front of the face)."""

    index: int
    image: np.ndarray
    faces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]


class FramePreview:
    """convert()'s per-frame path for one video and model, with the model pass cached.

    alignments: the video's faceset (folder or alignments.json) to skip
    detection, as convert's --alignments; without it each previewed frame is
    detected on its own (no temporal smoothing then: that needs the frames before).
    """

    def __init__(self, input: str | os.PathLike, model_dir: str | os.PathLike, *, to: str | None = None,
                 alignments: str | os.PathLike | None = None, device: str | None = None, detail: bool = True,
                 keep: int = 4):
        self.frames = FrameSource(input)
        info = self.frames.info
        align_path = Path(alignments) if alignments else None
        if align_path is not None and align_path.is_dir():
            align_path = align_path / "alignments.json"
        self.landmarks, align_cov = load_alignments(align_path, info) if align_path else (None, None)
        self.device = pick_device(device)
        model_dir = Path(model_dir)
        self.model, meta = load_swap_model(model_dir, self.device)
        self.model.eval()
        self.identity = pick_identity(to, list(self.model.identities), meta, model_dir, align_path)
        coverage = float(meta.get("coverage") or align_cov or DEFAULT_COVERAGE)  # as convert(): the model's crops
        self.renderer = FaceRenderer(self.model, model_dir, self.identity, coverage, self.device, detail=detail)
        # the cover is computed with the model pass whenever an occlusion model is installed (a few ms a
        # face), so switching occlusion on and off re-blends only
        self.occluder = make_masker(None, self.renderer.paste_size, coverage, self.device)
        self.region = make_region_masker(None, self.renderer.paste_size, coverage, self.device)
        self.is_video = not info.is_image and not Path(input).is_dir()
        self.fps = float(info.fps or 30.0)
        self._smoothed: dict[int, list[np.ndarray]] | None = None
        self._detector = None
        self._swapped: OrderedDict[tuple, SwappedFrame] = OrderedDict()
        self._masks: dict[tuple, MaskMaker] = {}
        self.keep = keep

    def __len__(self) -> int:
        return len(self.frames)

    # --- the expensive half: faces and the model pass -------------------------------------------
    def _faces_of(self, index: int, image: np.ndarray, smooth: bool) -> list[np.ndarray]:
        if self.landmarks is None:
            if self._detector is None:
                self._detector = Detector(device=self.device)
            faces = select_faces(self._detector.detect([image])[0], max_faces=0, min_size=40, threshold=0.9)
            return list(faces.landmarks)
        if not (smooth and self.is_video):
            return self.landmarks.get(index, [])
        if self._smoothed is None:  # convert's causal filter over every frame, once
            smoother = LandmarkSmoother(self.fps)
            last = max(self.landmarks, default=-1)
            self._smoothed = {i: smoother(i, self.landmarks.get(i, [])) for i in range(last + 1)}
        return self._smoothed.get(index, [])

    def swap(self, index: int, smooth: bool = True) -> SwappedFrame:
        """Frame `index` with its faces aligned and swapped (cached)."""
        key = (int(index), bool(smooth))
        if key in self._swapped:
            self._swapped.move_to_end(key)
            return self._swapped[key]
        image = self.frames[index]
        faces = [self.renderer.crop(image, lm) for lm in self._faces_of(int(index), image, smooth)]
        outs = self.renderer.swap([x for _, _, x in faces])
        originals = [c for _, c, _ in faces]
        covers = self.occluder(originals) if self.occluder is not None else [None] * len(faces)
        regions = self.region(originals) if self.region is not None else [None] * len(faces)
        out = [(m, c, face, learned, cover, region)
               for (m, c, _), (face, learned), cover, region in zip(faces, outs, covers, regions)]
        swapped = SwappedFrame(int(index), image, out)
        self._swapped[key] = swapped
        while len(self._swapped) > self.keep:
            self._swapped.popitem(last=False)
        return swapped

    # --- the cheap half: mask, colour, blend --------------------------------------------------
    def render(self, swapped: SwappedFrame, *, mask: str = "auto", mask_erode: float = 0.0, mask_blur: float = 5.0,
               color: str = DEFAULT_COLOR, blend: str = "alpha", sharpen: float | None = None,
               watermark: str | None = None, occlusion: bool | None = None, show_mask: bool = False) -> np.ndarray:
        """The converted frame (RGB uint8, a new array) under these settings.

        occlusion: keep what covers the face (None: when an occlusion model is installed).
        show_mask: tint where the new face goes green and the kept cover red."""
        check_color(color)
        check_blend(blend)
        sharpen = resolve_sharpen(sharpen, self.renderer.detail is not None)
        kind = resolve_mask_kind(mask, bool(self.model.has_mask))
        key = (kind, float(mask_erode), float(mask_blur))
        if key not in self._masks:
            r = self.renderer
            self._masks[key] = MaskMaker(kind, r.paste_size, r.template, erode=mask_erode, blur=mask_blur)
        masks = self._masks[key]
        if occlusion and self.occluder is None:
            raise missing_occluder()
        use_cover = occlusion is not False
        frame = swapped.image.copy()
        for matrix, original, face, learned, cover, region in swapped.faces:
            mask = masks(learned)
            if region is not None and kind != "box":  # as convert: the blend ends at A's face region
                mask = mask * region
            final = apply_cover(mask, cover if use_cover else None)
            paste_face(frame, face, original, final, matrix, color=color, sharpen=sharpen, blend=blend)
            if show_mask:
                _tint(frame, final, matrix, (0, 255, 0))
                if use_cover and cover is not None:
                    _tint(frame, mask - final, matrix, (255, 0, 0))
        if watermark:
            draw_watermark(frame, watermark)
        return frame


def _tint(frame: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, rgb: tuple[int, int, int]) -> None:
    """Blend a colour into `frame` (in place) at 35 % of a crop-space mask's strength."""
    from faceswap.convert.blend import paste

    size = alpha.shape[0]
    paste(frame, np.full((size, size, 3), rgb, np.uint8), np.clip(alpha, 0, 1) * 0.35, matrix)


def preview_frame(input: str | os.PathLike, model_dir: str | os.PathLike, index: int, *, smooth: bool = True,
                  **settings) -> tuple[np.ndarray, np.ndarray]:
    """(original, converted) frame `index` of `input`: a one-off FramePreview.
    settings: to, alignments, device, detail, and render()'s mask, mask_erode,
    mask_blur, color, blend, sharpen, watermark, occlusion, show_mask."""
    build = {k: settings.pop(k) for k in ("to", "alignments", "device", "detail") if k in settings}
    preview = FramePreview(input, model_dir, **build)
    swapped = preview.swap(index, smooth)
    return swapped.image, preview.render(swapped, **settings)
