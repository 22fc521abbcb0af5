"""The face's real outline: the face-region model's segmentation, as a mask convert multiplies in.

A landmark mask (faceswap.convert.masks) is a fixed egg through five points:
it takes in the forehead under a fringe and stops short of the hairline on a
bare one, so B's hair is painted on A's forehead and an edge runs across A's
skin where it ends. The face-region model (an `Occluder` network trained by
scripts/train_face_region.py on labels from faceswap.train.region; shipped in
weights/face_region) says which pixels of a crop are face skin: forehead up to
the hairline, cheeks, jaw, chin, eyes and mouth; not hair, ears, neck or
background.

Convert multiplies its mask by A's region (so the blend ends where A's skin
meets A's hair, and nothing of B lands on A's hair), and training's mask
target is each face's own region (so a model's learned mask draws B's
outline: where B has a fringe, the mask is off and A's forehead stays A's).

Both models work on their own crop (64 px at a faceset's coverage, 0.75); the
mapping to and from convert's crops is the occlusion model's (OcclusionMasker).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.occlusion import OcclusionMasker
from faceswap.weights import ROOT as WEIGHTS

REGION_DIR = WEIGHTS / "face_region"


def has_region_model(path: str | Path | None = None) -> bool:
    return (Path(path or REGION_DIR) / "model.safetensors").is_file()


def load_region_model(path: str | Path | None = None, device: str | torch.device = "cpu"):
    """(network in eval mode, its training coverage) from `path` (default weights/face_region).
    One line naming the file when it is missing or damaged."""
    from faceswap.models import ModelError, load_model, read_model_config
    from faceswap.models.occluder import Occluder

    folder = Path(path or REGION_DIR)
    if not has_region_model(folder):
        raise FaceswapError(f"{folder / 'model.safetensors'}: face-region model not found; "
                            "run scripts/train_face_region.py or pass --no-face-region")
    try:
        doc = read_model_config(folder)
        net = load_model(folder, map_location=device)
    except ModelError as e:
        raise FaceswapError(f"damaged face-region model: {e}; restore weights/face_region or pass "
                            "--no-face-region") from None
    except OSError as e:
        raise FaceswapError(f"{folder}: cannot read the face-region model ({e.strerror or e})") from None
    meta = doc.get("extra", {}).get("faceswap", {})
    if not isinstance(net, Occluder) or meta.get("kind") != "face_region":
        raise FaceswapError(f"{folder / 'config.json'}: not a face-region model (kind {meta.get('kind')!r})")
    return net.eval(), float(meta.get("coverage") or DEFAULT_COVERAGE)


class RegionMasker(OcclusionMasker):
    """Face region of convert's crops: [(P, P, 3) uint8] -> [(P, P) float32 in [0, 1]].

    The probability is cut at one half, grown by `grow` % of the crop (the hairline
    is a soft edge: a little of it painted reads as hair, a strip of A's skin left
    under B's forehead reads as an edge) and feathered inwards over `feather` %,
    so the region's edge never shows a hard line."""

    def __init__(self, net, net_coverage: float, paste_size: int, coverage: float, device: torch.device,
                 grow: float = 1.0, feather: float = 3.0):
        super().__init__(net, net_coverage, paste_size, coverage, device, threshold=0.5, grow=grow,
                         feather=feather)

    def to_region(self, prob: np.ndarray) -> np.ndarray:
        hard = (prob > self.threshold).astype(np.float32)
        r = int(round(self.grow / 100 * self.size))
        if r > 0:
            hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        sigma = self.feather / 100 * self.size / 2
        if sigma > 0.3:
            # erode by two sigma, then blur: the fade lies inside the region
            k = int(round(2 * sigma))
            inner = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
            hard = cv2.GaussianBlur(inner, (0, 0), sigma)
        return np.clip(hard, 0, 1).astype(np.float32)

    def __call__(self, originals: list[np.ndarray]) -> list[np.ndarray]:
        return [self.to_region(p) for p in self.probability(originals)]


def make_region_masker(region: bool | None, paste_size: int, coverage: float, device: torch.device,
                       path: str | Path | None = None) -> RegionMasker | None:
    """The masker convert uses: None when `region` is False, or None (the default) and
    no face-region model is installed; FaceswapError when it is True and none is."""
    if region is False or (region is None and not has_region_model(path)):
        return None
    net, net_coverage = load_region_model(path, device)
    return RegionMasker(net, net_coverage, paste_size, coverage, device)


def region_mask_targets(images: torch.Tensor, coverage: float | None, path: str | Path | None = None) -> torch.Tensor:
    """(N, 1, R, R) float: each training face's own region (images (N, R, R, 3) uint8), the
    mask target that teaches a decoder its person's outline (hairline, jaw)."""
    net, net_coverage = load_region_model(path)
    size = images.shape[1]
    masker = RegionMasker(net, net_coverage, size, coverage or DEFAULT_COVERAGE, torch.device("cpu"),
                          grow=0.0, feather=0.0)
    frames = images.cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    out = []
    for i in range(0, len(frames), 64):
        out += masker(list(frames[i:i + 64]))
    return torch.from_numpy(np.stack(out))[:, None]


class FrameRegion:
    """A's face region in frame coordinates, from the five MTCNN points: for measuring
    (faceswap.evaluate keeps its skin patches on skin, off the hair that crosses a cheek)."""

    SIZE = 128

    def __init__(self, path: str | Path | None = None):
        from faceswap.extract.align import template_points

        net, net_coverage = load_region_model(path)
        self.masker = RegionMasker(net, net_coverage, self.SIZE, DEFAULT_COVERAGE, torch.device("cpu"),
                                   grow=0.0, feather=0.0)
        self.template = np.asarray(template_points(self.SIZE, DEFAULT_COVERAGE), np.float64)

    def __call__(self, images: list[np.ndarray], fives: list[np.ndarray]) -> list[np.ndarray]:
        """[(H, W, 3) uint8], [(5, 2)] -> [(H, W) bool]: where each frame's face is skin."""
        from faceswap.convert.blend import crop, warp_to_frame
        from faceswap.extract.align import umeyama

        mats = [umeyama(np.asarray(f, np.float64).reshape(5, 2), self.template) for f in fives]
        regions = self.masker([crop(im, m, self.SIZE) for im, m in zip(images, mats)])
        out = []
        for im, m, r in zip(images, mats, regions):
            h, w = im.shape[:2]
            out.append(warp_to_frame(r, m, (0, 0, w, h)) > 0.5)
        return out
