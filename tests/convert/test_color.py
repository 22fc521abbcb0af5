"""Colour correction: known answers on synthetic images."""

import numpy as np
import pytest

from faceswap.convert.color import correct_color, hist_transfer, reinhard_lab, rgb_to_lab
from faceswap.errors import FaceswapError

rng = np.random.default_rng(0)
H = W = 48


def _images():
    src = np.clip(rng.normal([0.3, 0.5, 0.4], 0.08, (H, W, 3)), 0, 1).astype(np.float32)
    tgt = np.clip(rng.normal([0.6, 0.45, 0.35], 0.12, (H, W, 3)), 0, 1).astype(np.float32)
    mask = np.zeros((H, W), np.float32)
    mask[8:40, 10:38] = 1
    # outside the mask: wildly different colours that must not count
    tgt[mask == 0] = [0, 0, 1]
    src[mask == 0] = [1, 1, 0]
    return src, tgt, mask


def test_reinhard_matches_mean_and_std_in_lab_inside_the_mask():
    src, tgt, mask = _images()
    sel = mask > 0.5
    out_lab = reinhard_lab(rgb_to_lab(src), rgb_to_lab(tgt), sel)
    t = rgb_to_lab(tgt)[sel]
    np.testing.assert_allclose(out_lab[sel].mean(0), t.mean(0), atol=1e-3)
    np.testing.assert_allclose(out_lab[sel].std(0), t.std(0), rtol=1e-3)
    # through RGB and back (clipping and all) it still matches closely
    out = correct_color(src, tgt, mask, "reinhard")
    o = rgb_to_lab(out)[sel]
    np.testing.assert_allclose(o.mean(0), t.mean(0), atol=0.5)
    np.testing.assert_allclose(o.std(0), t.std(0), rtol=0.05)


def test_mean_transfer_matches_rgb_means_inside_the_mask():
    src, tgt, mask = _images()
    out = correct_color(src, tgt, mask, "mean")
    sel = mask > 0.5
    np.testing.assert_allclose(out[sel].mean(0), tgt[sel].mean(0), atol=0.01)
    u8 = correct_color((src * 255).astype(np.uint8), (tgt * 255).astype(np.uint8), mask, "mean")
    assert u8.dtype == np.uint8
    np.testing.assert_allclose(u8[sel].mean(0), (tgt * 255).astype(np.uint8)[sel].mean(0), atol=3)


def test_hist_matching_matches_the_target_cdf():
    src, tgt, mask = _images()
    src8, tgt8 = (src * 255).astype(np.uint8), (tgt * 255).astype(np.uint8)
    out = hist_transfer(src8, tgt8, mask)
    sel = mask > 0.5
    for c in range(3):
        cdf_o = np.cumsum(np.bincount(out[..., c][sel], minlength=256)) / sel.sum()
        cdf_t = np.cumsum(np.bincount(tgt8[..., c][sel], minlength=256)) / sel.sum()
        # discrete matching: within the largest single-level mass of the source
        step = np.bincount(src8[..., c][sel], minlength=256).max() / sel.sum()
        assert np.abs(cdf_o - cdf_t).max() <= step + 1e-9


def test_none_is_identity_and_unknown_is_an_error():
    src, tgt, mask = _images()
    assert correct_color(src, tgt, mask, "none") is src
    with pytest.raises(FaceswapError, match="unknown colour"):
        correct_color(src, tgt, mask, "sepia")


def test_light_takes_the_targets_shading_and_keeps_the_sources_detail():
    """The swap lit from the top (a bright forehead), the frame lit from the left:
    `light` gives the swap the frame's light across the face and keeps its fine
    pattern; the colours outside the mask do not bleed in."""
    n = 128
    yy, xx = np.mgrid[0:n, 0:n] / n
    i, j = np.mgrid[0:n, 0:n]
    detail = 0.05 * (2 * ((i // 2 + j // 2) % 2) - 1)  # a 2 px checker: the swap's own fine texture
    src = np.clip((0.35 + 0.3 * (1 - yy) + detail)[..., None] * [1.0, 0.8, 0.7], 0, 1).astype(np.float32)
    tgt = np.clip((0.35 + 0.3 * (1 - xx))[..., None] * [1.0, 0.8, 0.7], 0, 1).astype(np.float32)
    mask = np.zeros((n, n), np.float32)
    mask[16:112, 16:112] = 1
    tgt[mask == 0] = [0, 0, 1]
    out = correct_color(src, tgt, mask, "light")
    inner = (slice(32, 96), slice(32, 96))
    lum = lambda im: rgb_to_lab(im)[..., 0]  # noqa: E731
    blur = lambda im: im[inner].reshape(8, 8, 8, 8).mean((1, 3))  # noqa: E731  8 px block means
    # the shading now runs left to right as the target's does, not top to bottom
    before = np.abs(blur(lum(src)) - blur(lum(tgt))).mean()
    after = np.abs(blur(lum(out)) - blur(lum(tgt))).mean()
    assert before > 3 and after < 0.1 * before, (before, after)
    # the checker survives: fine detail (minus its block means) is the source's
    fine = lambda im: lum(im)[inner] - np.kron(blur(lum(im)), np.ones((8, 8)))  # noqa: E731
    assert np.corrcoef(fine(out).ravel(), fine(src).ravel())[0, 1] > 0.9
    # and no blue from outside the mask reaches the face
    assert rgb_to_lab(out)[inner][..., 2].mean() > 0
