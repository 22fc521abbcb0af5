"""Keep what covers the face: the occlusion model's cover, as a mask convert subtracts.

Like faceswap.identity, a room no pipeline owns: convert takes the cover out
of its masks and holds faces through it, `faceswap clean` moves faces that
are mostly covered out of a faceset.

The swap's mask says where the new face goes (the face region); the occlusion
model (faceswap.models.occluder, shipped in weights/occluder) says which of
those pixels are hidden behind a hand, a microphone or a glasses rim. Convert
multiplies the face mask by (1 - cover), so the original pixels stay there.

The occluder works on its own crop: the face at its resolution r (64 px) and
its training coverage (a faceset's, 0.75). A convert crop is the face at paste
size P and the model's coverage; both crops are aligned to the same template,
so one is a scaling of the other about the crop centre, and the cover found
on the occluder's crop is mapped back by the inverse scaling.

    cover(originals: [(P, P, 3) uint8]) -> [(P, P) float32 in [0, 1]]

Turning probabilities into cover: above `threshold` counts as covered; the
covered region grows by `grow` % of the crop (default: one pixel of the
occluder's crop, the precision of its edges; so an occluder's soft, blurred
edge stays original rather than half painted over) and is feathered outwards
over `feather` %.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap.errors import FaceswapError
from faceswap.extract.align import DEFAULT_COVERAGE
from faceswap.weights import ROOT as WEIGHTS

OCCLUDER_DIR = WEIGHTS / "occluder"  # the shipped model, wherever the package is installed


def has_occluder(path: str | Path | None = None) -> bool:
    return (Path(path or OCCLUDER_DIR) / "model.safetensors").is_file()


def missing_occluder(path: str | Path | None = None) -> FaceswapError:
    """The one-line error for occlusion asked for without an occlusion model."""
    return FaceswapError(f"{Path(path or OCCLUDER_DIR) / 'model.safetensors'}: occlusion model not found; "
                         f"run scripts/train_occluder.py or pass --no-occlusion")


def load_occluder(path: str | Path | None = None, device: str | torch.device = "cpu"):
    """(Occluder in eval mode, its training coverage) from `path` (default weights/occluder).

    Raises FaceswapError (one line naming the file) when the folder is missing or damaged."""
    from faceswap.models import ModelError, load_model, read_model_config
    from faceswap.models.occluder import Occluder

    folder = Path(path or OCCLUDER_DIR)
    if not has_occluder(folder):
        raise missing_occluder(folder)
    try:
        doc = read_model_config(folder)
        net = load_model(folder, map_location=device)
    except ModelError as e:
        raise FaceswapError(f"damaged occlusion model: {e}; restore weights/occluder or pass --no-occlusion") from None
    except OSError as e:
        raise FaceswapError(f"{folder}: cannot read the occlusion model ({e.strerror or e})") from None
    if not isinstance(net, Occluder):
        raise FaceswapError(f"{folder / 'config.json'}: not an occlusion model (type {doc['type']!r})")
    coverage = float(doc.get("extra", {}).get("faceswap", {}).get("coverage") or DEFAULT_COVERAGE)
    return net, coverage


class OcclusionMasker:
    """Cover of convert's face crops (see the module docstring).

    paste_size: P, the side of convert's crops; coverage: the swap model's crop coverage.
    """

    def __init__(self, net, net_coverage: float, paste_size: int, coverage: float, device: torch.device,
                 threshold: float = 0.5, grow: float | None = None, feather: float = 1.5):
        self.net, self.device = net, device
        self.size, self.res = int(paste_size), int(net.resolution)
        # crop P (at `coverage`) -> crop r (at `net_coverage`): a scaling about the centres
        s = (self.res / self.size) * (net_coverage / coverage)
        self.to_net = np.float64([[s, 0, self.res / 2 - s * self.size / 2], [0, s, self.res / 2 - s * self.size / 2]])
        self.coverage = coverage
        # default growth: one pixel of the occluder's own crop (its edges are only that sharp)
        self.threshold, self.feather = threshold, feather
        self.grow = 100.0 / (s * self.size) if grow is None else grow

    def probability(self, originals: list[np.ndarray]) -> list[np.ndarray]:
        """[(P, P, 3) uint8] -> [(P, P) float32]: the model's probability of cover per crop pixel."""
        if not originals:
            return []
        # bilinear sampling of the P crop (sharper than area averaging, which training used on its
        # 2x reductions): on the held-out card it gave IoU 0.876 against 0.836 for area averaging
        small = np.stack([cv2.warpAffine(o, self.to_net, (self.res, self.res), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE) for o in originals])
        x = torch.from_numpy(small).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        with torch.inference_mode():
            z = self.net.logits(x).float()[:, 0].cpu().numpy()
        out = []
        for logit in z:
            # logits, not probabilities, are interpolated: the edge stays as sharp as the model drew it
            big = cv2.warpAffine(logit, self.to_net, (self.size, self.size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
            out.append((1 / (1 + np.exp(-big))).astype(np.float32))
        return out

    def to_cover(self, prob: np.ndarray) -> np.ndarray:
        """(P, P) probability -> (P, P) cover in [0, 1]: thresholded, grown and feathered."""
        hard = (prob > self.threshold).astype(np.float32)
        if not hard.any():
            return hard
        r = int(round(self.grow / 100 * self.size))
        if r > 0:
            hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        sigma = self.feather / 100 * self.size / 2
        if sigma > 0.3:
            # the fade lies outside the covered region: every covered pixel stays fully original
            hard = np.clip(cv2.GaussianBlur(hard, (0, 0), sigma) * 2, 0, 1)
        return hard.astype(np.float32)

    def cover_at(self, renderer, region: np.ndarray):
        """`cover(image, landmarks) -> (share, mask)` for faceswap.convert.hold: the share of
        the face `region` ((P, P) 0/1) that is covered at those landmarks, and the covered
        pixels in the frame ((H, W) bool)."""
        from faceswap.convert.blend import warp_to_frame

        inside = region > 0.5

        def cover(image: np.ndarray, landmarks: np.ndarray) -> tuple[float, np.ndarray]:
            matrix, original, _ = renderer.crop(image, landmarks)
            hard = (self.probability([original])[0] > self.threshold).astype(np.float32)
            h, w = image.shape[:2]
            share = float(hard[inside].mean()) if inside.any() else 0.0
            return share, warp_to_frame(hard * inside, matrix, (0, 0, w, h)) > 0.5

        return cover

    def __call__(self, originals: list[np.ndarray]) -> list[np.ndarray]:
        """[(P, P, 3) uint8 original crops] -> [(P, P) float32 cover in [0, 1]]."""
        return [self.to_cover(p) for p in self.probability(originals)]


def covered_shares(crops: list[np.ndarray], coverage: float, path: str | Path | None = None,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """(N,) share of each aligned crop's tight face square (the central `coverage` of
    its side) that the occlusion model calls covered. crops: (S, S, 3) uint8 images
    made at `coverage` (a faceset's)."""
    net, net_coverage = load_occluder(path, device)
    maskers: dict[int, OcclusionMasker] = {}
    out = []
    for crop in crops:
        size = crop.shape[0]
        if size not in maskers:
            maskers[size] = OcclusionMasker(net, net_coverage, size, coverage, torch.device(device))
        masker = maskers[size]
        m = int(round(size * (1 - min(float(coverage), 1.0)) / 2))
        p = masker.probability([crop])[0]
        out.append(float((p[m:size - m, m:size - m] > masker.threshold).mean()))
    return np.asarray(out, np.float64)


def apply_cover(mask: np.ndarray, cover: np.ndarray | None) -> np.ndarray:
    """The face mask with the covered pixels taken out: mask * (1 - cover)."""
    if cover is None:
        return mask
    return (mask * (1.0 - cover)).astype(np.float32)


def make_masker(occlusion: bool | None, paste_size: int, coverage: float, device: torch.device,
                path: str | Path | None = None) -> OcclusionMasker | None:
    """The masker convert uses: None when `occlusion` is False, or None (the default)
    and no occlusion model is installed; FaceswapError when it is True and none is."""
    if occlusion is False or (occlusion is None and not has_occluder(path)):
        return None
    net, net_coverage = load_occluder(path, device)
    return OcclusionMasker(net, net_coverage, paste_size, coverage, device)
