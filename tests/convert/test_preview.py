"""FramePreview: the same frame as convert(), and no model pass for settings
that only re-blend."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap.convert import convert
from faceswap.convert.preview import FramePreview, FrameSource, preview_frame
from faceswap.demo import DEMO_MODEL, public_domain_faces
from faceswap.errors import FaceswapError
from faceswap.video import read_image, write_image


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    path = tmp_path_factory.mktemp("preview") / "collins.png"
    write_image(path, public_domain_faces(256)["a"])
    return path


@pytest.mark.parametrize("settings", [{}, dict(mask="ellipse", mask_erode=3.0, mask_blur=8.0, color="mean", sharpen=2.5)])
def test_preview_matches_convert(portrait, tmp_path, settings):
    out = tmp_path / "swapped.png"
    convert(portrait, DEMO_MODEL, out, to="b", progress=False, device="cpu", **settings)
    original, swapped = preview_frame(portrait, DEMO_MODEL, 0, to="b", device="cpu", **settings)
    assert np.array_equal(original, read_image(portrait))
    diff = np.abs(swapped.astype(np.int16) - read_image(out).astype(np.int16))
    assert diff.max() <= 2 and diff.mean() < 0.05
    assert np.abs(swapped.astype(np.int16) - original).mean() > 0.3  # a face was really painted


def test_setting_changes_reuse_the_model_pass(portrait):
    preview = FramePreview(portrait, DEMO_MODEL, to="b", device="cpu")
    calls = []
    swap = preview.renderer.swap  # the model pass, whichever backend runs it
    preview.renderer.swap = lambda *a, **k: calls.append(1) or swap(*a, **k)
    frame = preview.swap(0)
    images = [preview.render(preview.swap(0), **s) for s in
              (dict(color="none"), dict(color="hist"), dict(blend="poisson"), dict(mask="box", mask_blur=12.0),
               dict(color="none", sharpen=0.0))]
    assert len(calls) == 1 and len(frame.faces) == 1
    assert all(not np.array_equal(images[0], im) for im in images[1:])
    with pytest.raises(FaceswapError, match="--color"):
        preview.render(frame, color="sepia")


def test_auto_sharpens_only_faces_a_detail_upsampler_drew(portrait):
    drawn = FramePreview(portrait, DEMO_MODEL, to="b", device="cpu")  # the demo model has Hopper's upsampler
    frame = drawn.swap(0)
    assert np.array_equal(drawn.render(frame), drawn.render(frame, sharpen=1.0))
    assert not np.array_equal(drawn.render(frame), drawn.render(frame, sharpen=0.0))
    enlarged = FramePreview(portrait, DEMO_MODEL, to="b", device="cpu", detail=False)
    frame = enlarged.swap(0)
    assert np.array_equal(enlarged.render(frame), enlarged.render(frame, sharpen=0.0))


def test_frame_source_random_access(tmp_path):
    from faceswap.video import VideoWriter

    path = tmp_path / "count.mp4"
    with VideoWriter(path, 25, 64, 64) as w:
        for i in range(12):
            w.write(np.full((64, 64, 3), 20 * i, np.uint8))
    frames = FrameSource(path, keep=2)
    assert len(frames) == 12
    for i in (5, 9, 2, 11, 0):  # forward, forward, back (reopen), forward, back
        assert abs(int(frames[i].mean()) - 20 * i) <= 3
    with pytest.raises(FaceswapError, match="no frame 40"):
        frames[40]


def test_preview_occlusion_switch_and_mask_view(portrait):
    """Occlusion on and off and the mask view re-blend the cached frame: no second model pass;
    a card over the mouth is kept with occlusion (the default) and painted over without it."""
    from faceswap.train.cover import card_alpha, card_texture

    image = read_image(portrait).astype(np.float32)
    a = card_alpha(image.shape[:2], (144, 90), (34, 20), 5)[..., None]  # over the mouth
    covered_path = portrait.parent / "covered.png"
    write_image(covered_path, np.clip(image * (1 - a) + card_texture(image.shape[:2]) * a, 0, 255).astype(np.uint8))
    preview = FramePreview(covered_path, DEMO_MODEL, to="b", device="cpu")
    assert preview.occluder is not None
    frame = preview.swap(0)
    on, off = preview.render(frame), preview.render(frame, occlusion=False)
    shown = preview.render(frame, show_mask=True)
    inside = a[..., 0] > 0.99
    d_on = np.abs(on.astype(np.int16) - frame.image)[inside].mean()
    d_off = np.abs(off.astype(np.int16) - frame.image)[inside].mean()
    assert d_on < 3 < d_off
    tint = (shown[inside].astype(int) - on[inside]).mean(0)
    assert tint[0] > 8 and tint[1] < 0  # the kept cover tinted red
