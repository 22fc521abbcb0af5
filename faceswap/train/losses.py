"""Reconstruction losses for face-swap training.

Default: L1 + DSSIM, as face-swap trainers have long used: L1 keeps colours
right, DSSIM = (1 - SSIM) / 2 (Wang et al. 2004, "Image quality assessment:
from error visibility to structural similarity") keeps edges and texture sharp.
`"mse"` swaps L1 for the squared error.

Both terms are weighted per pixel: 1 everywhere, plus `eye_weight` and
`mouth_weight` on soft (Gaussian) blobs around the eyes and the mouth, whose
positions come from the faceset's aligned landmarks (or the alignment
template): the regions a viewer reads expression from get more of the
gradient.

Reduction: a weighted MEAN over pixels and channels, mean over the batch, so
the numbers do not depend on the resolution (unlike the library's sum-over-data
convention in faceswap.models.autoencoder, which suits likelihoods; a per-pixel
mean suits a perceptual mix of terms). Shapes: (B, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call

from faceswap.extract.align import DEFAULT_COVERAGE, TEMPLATE
from faceswap.models.gan import DCGANDiscriminator, adversarial_loss, discriminator_loss

LOSSES = ("l1+dssim", "mse+dssim", "l1", "mse")


def template_points(coverage: float | None = None) -> torch.Tensor:
    """(5, 2) normalised landmark positions in an aligned crop: faceswap.extract.align's
    template at `coverage` (its default when None)."""
    cov = DEFAULT_COVERAGE if coverage is None else float(coverage)
    return (torch.as_tensor(TEMPLATE, dtype=torch.float32).reshape(5, 2) - 0.5) * cov + 0.5


def region_weights(
    size: int,
    landmarks: torch.Tensor | None = None,
    eye_weight: float = 1.0,
    mouth_weight: float = 1.0,
    coverage: float | None = None,
) -> torch.Tensor:
    """(1, 1, size, size) weight map: 1 + Gaussian blobs on the eyes and mouth.

    landmarks: (5, 2) normalised [0, 1] crop coordinates (the template, or the
    faceset's mean landmarks). Blob radius scales with the eye distance.
    """
    pts = template_points(coverage) if landmarks is None else torch.as_tensor(landmarks, dtype=torch.float32).reshape(5, 2)
    eye_dist = float((pts[1] - pts[0]).norm()) or 0.3
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")

    def blob(centre: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
        return torch.exp(-(((xx - centre[0]) / sx) ** 2 + ((yy - centre[1]) / sy) ** 2) / 2)

    s = eye_dist * 0.25
    eyes = torch.maximum(blob(pts[0], s, s * 0.7), blob(pts[1], s, s * 0.7))
    mouth = blob((pts[3] + pts[4]) / 2, eye_dist * 0.45, s * 0.8)
    return (1 + eye_weight * eyes + mouth_weight * mouth).view(1, 1, size, size)


def box_filter(t: torch.Tensor, window: int) -> torch.Tensor:
    """'valid' mean over window x window patches via running sums (cumsum): O(1) per pixel,
    4x faster on CPU than avg_pool2d(window, stride=1), same result."""
    w = window
    c = t.cumsum(-1)
    c = torch.cat([c[..., w - 1 : w], c[..., w:] - c[..., :-w]], -1)
    c = c.cumsum(-2)
    c = torch.cat([c[..., w - 1 : w, :], c[..., w:, :] - c[..., :-w, :]], -2)
    return c / (w * w)


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Per-pixel SSIM (B, C, H, W) with a uniform `window` x `window` window (scikit-image's
    default), reflect padding; the five local statistics are filtered in one pass."""
    c = x.shape[1]
    pad = window // 2
    stats = torch.cat([x, y, x * x, y * y, x * y], 1)
    stats = box_filter(F.pad(stats, (pad, pad, pad, pad), mode="reflect"), window)
    mx, my, xx, yy, xy = stats.split(c, 1)
    c1, c2 = 0.01**2, 0.03**2
    cov_norm = window * window / (window * window - 1)  # unbiased local (co)variances, as scikit-image
    sxx = (xx - mx * mx) * cov_norm
    syy = (yy - my * my) * cov_norm
    sxy = (xy - mx * my) * cov_norm
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def _wmean(t: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    if w is None:
        return t.mean()
    w = w.to(t.dtype).expand_as(t)
    return (t * w).sum() / w.sum()


class FaceLoss(torch.nn.Module):
    """Weighted reconstruction loss; forward returns (total, parts dict).

    kind: "l1+dssim" (default), "mse+dssim", "l1" or "mse".
    weights: (1, 1, H, W) region weights (see region_weights) or None.
    """

    def __init__(self, kind: str = "l1+dssim", weights: torch.Tensor | None = None):
        super().__init__()
        if kind not in LOSSES:
            raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
        self.kind = kind
        self.register_buffer("weights", weights if weights is not None else torch.ones(1, 1, 1, 1), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # fp32 even under autocast: SSIM's variances (E[x^2] - E[x]^2) cancel badly in bf16
        with torch.autocast(device_type=pred.device.type, enabled=False):
            return self._forward(pred.float(), target.float())

    def _forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = self.weights
        if w.shape[-1] != pred.shape[-1]:
            w = F.interpolate(w, size=pred.shape[-2:], mode="bilinear", align_corners=False)
        diff = (pred - target).abs() if self.kind.startswith("l1") else (pred - target) ** 2
        pix = _wmean(diff, w)
        parts = {"pixel": pix}
        total = pix
        if self.kind.endswith("dssim"):
            dssim = _wmean((1 - ssim_map(pred, target)) / 2, w)
            parts["dssim"] = dssim
            total = total + dssim
        return total, parts


def mask_loss(pred_mask: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error between a predicted (B,1,H,W) mask and its target."""
    return (pred_mask.float() - target_mask.float()).abs().mean()


def face_mask(size: int, landmarks: torch.Tensor | None = None, coverage: float | None = None) -> torch.Tensor:
    """(1, 1, size, size) soft elliptical face mask from the landmarks (the mask target).

    The ellipse spans the eyes to below the mouth with a soft edge; it is the
    target the decoders' mask channel learns when training with --mask.
    """
    pts = template_points(coverage) if landmarks is None else torch.as_tensor(landmarks, dtype=torch.float32).reshape(5, 2)
    eye_dist = float((pts[1] - pts[0]).norm()) or 0.3
    centre = pts.mean(0)
    rx, ry = eye_dist * 1.25, eye_dist * 1.6
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    r = ((xx - centre[0]) / rx) ** 2 + ((yy - centre[1] + 0.05 * ry) / ry) ** 2
    return torch.sigmoid((1 - r) * 12).view(1, 1, size, size)


class _FrozenView(torch.nn.Module):
    """Calls `module` with its parameters detached: the generator's adversarial gradient
    reaches the decoder but never the discriminator (one optimizer can then hold both)."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.inner = [module]  # a list: not registered as a submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.inner[0]
        params = {k: v.detach() for k, v in m.named_parameters()}
        return functional_call(m, (params, dict(m.named_buffers())), (x,))


class AdversarialTerm(torch.nn.Module):
    """Optional GAN term from faceswap.models.gan: one DCGAN discriminator per identity.

    forward(fake, real, identity) -> (generator loss, discriminator loss). The
    discriminator loss sees fake.detach(); the generator loss sees the
    discriminator through detached parameters, so the sum trains each side in
    the right direction with the single optimizer of faceswap.training.fit.
    Raises ImportError when faceswap.models.gan is absent (callers skip the term).
    """

    def __init__(self, identities, resolution: int, width: int = 16, kind: str = "lsgan"):
        super().__init__()
        self.kind = kind
        self.discriminators = torch.nn.ModuleDict(
            {i: DCGANDiscriminator(channels=3, image_size=resolution, width=width) for i in identities}
        )

    def forward(self, fake: torch.Tensor, real: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.discriminators[identity]
        with torch.autocast(device_type=fake.device.type, enabled=False):
            g = adversarial_loss(_FrozenView(d), fake.float(), self.kind)
            dl = discriminator_loss(d, real.float(), fake.detach().float(), self.kind)
        return g, dl
