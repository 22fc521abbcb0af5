"""Convert tab: a frame slider with the live preview of that frame (original
beside swapped), then the whole video with faceswap.convert.convert.

The preview is faceswap.convert.preview.FramePreview: a new frame or
smoothing setting runs the model once; mask, erode, blur, colour, blend,
sharpen and occlusion changes re-blend the cached swapped face only (the
occlusion model's cover is computed with the model pass).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from faceswap.convert.blend import BLENDS
from faceswap.convert.color import COLORS, DEFAULT_COLOR
from faceswap.convert.masks import MASKS
from faceswap.occlusion import has_occluder
from faceswap.convert.sharpen import DEFAULT_SHARPEN, resolve_sharpen
from faceswap.errors import FaceswapError
from faceswap.ui.common import Context, one_line, status_html

TITLE = "Convert"
NO_ALIGNMENTS = "(detect faces)"


def render(ctx: Context) -> SimpleNamespace:
    import gradio as gr

    w = SimpleNamespace()
    gr.Markdown("Tune the settings on any frame, then swap the whole video (`faceswap convert`). "
                "The output is labelled as synthetic media.")
    with gr.Row():
        w.video = gr.Dropdown(ctx.root.videos(), value=None, label="Video", allow_custom_value=True,
                              elem_id="convert-video")
        w.model = gr.Dropdown(ctx.root.models(), value=None, label="Model", allow_custom_value=True,
                              elem_id="convert-model")
        w.to = gr.Dropdown([], value=None, label="Paint the face of", allow_custom_value=True, elem_id="convert-to")
        w.alignments = gr.Dropdown([NO_ALIGNMENTS], value=NO_ALIGNMENTS, label="Faces from (faceset of this video)",
                                   allow_custom_value=True, elem_id="convert-alignments")
        w.refresh = gr.Button("Refresh lists", size="sm", scale=0)
    w.frame = gr.Slider(0, 1, 0, step=1, label="Frame", elem_id="convert-frame")
    with gr.Row():
        with gr.Column(scale=1, min_width=240):
            w.mask = gr.Dropdown(list(MASKS), value="auto", label="Mask", elem_id="convert-mask")
            w.erode = gr.Slider(-10, 20, 0, step=0.5, label="Mask erode (% of face; negative grows)",
                                elem_id="convert-erode")
            w.blur = gr.Slider(0, 20, 5, step=0.5, label="Mask blur (% of face)", elem_id="convert-blur")
            w.color = gr.Dropdown(list(COLORS), value=DEFAULT_COLOR, label="Colour", elem_id="convert-color")
            w.blend = gr.Dropdown(list(BLENDS), value="alpha", label="Blend", elem_id="convert-blend")
            w.sharpen = gr.Slider(0, 4, DEFAULT_SHARPEN, step=0.25, elem_id="convert-sharpen",
                                  label="Sharpen (halo-free; 0 off)")
            w.smooth = gr.Checkbox(True, label="Smooth alignment over time", elem_id="convert-smooth")
            w.occlusion = gr.Checkbox(has_occluder(), label="Keep what covers the face (occlusion model)",
                                      interactive=has_occluder(), elem_id="convert-occlusion")
            w.show_mask = gr.Checkbox(False, label="Show the mask (green: new face, red: kept cover)",
                                      elem_id="convert-show-mask")
        with gr.Column(scale=4):
            w.preview = gr.Image(label="Original | swapped", format="jpeg", interactive=False,
                                 elem_id="convert-preview")
            w.timing = gr.Markdown("", elem_id="convert-timing")
    with gr.Row():
        with gr.Column(scale=2):
            w.output = gr.Textbox(label="Output video", placeholder="outputs/<video>_swapped.mp4",
                                  elem_id="convert-output")
            with gr.Row():
                w.watermark = gr.Textbox("", label="Visible watermark (optional)")
                w.force = gr.Checkbox(False, label="Overwrite")
            w.start = gr.Button("Convert the whole video", variant="primary", elem_id="convert-start")
            w.status = gr.HTML(status_html(None), elem_id="convert-status")
            w.outputs = gr.Markdown("", elem_id="convert-outputs")
        with gr.Column(scale=3):
            w.result = gr.Video(label="Result", interactive=False, elem_id="convert-result")
    w.timer = gr.Timer(1.0)
    w.seen = gr.State(None)
    return w


def matching_facesets(ctx: Context, video: Path) -> list[str]:
    """Facesets under the root whose alignments were made from `video`."""
    found = []
    for rel in ctx.root.facesets():
        try:
            doc = json.loads((ctx.root.resolve(rel) / "alignments.json").read_text())
            if Path(doc.get("source", "")).resolve() == video:
                found.append(rel)
        except (OSError, ValueError, FaceswapError):
            continue
    return found


def converted_videos(ctx: Context, folder: str = "outputs") -> str:
    """Markdown list of the videos under root/<folder> with their frame counts."""
    from faceswap.video import probe

    base = ctx.root.main / folder
    lines = []
    for path in sorted(base.rglob("*.mp4")) if base.is_dir() else []:
        if path.name.endswith(".partial.mp4"):
            continue
        try:
            info = probe(path)
            lines.append(f"- `{ctx.root.relative(path)}`: {info.frame_count} frames, {info.fps:g} fps, "
                         f"{info.width}x{info.height}")
        except FaceswapError as e:
            lines.append(f"- `{ctx.root.relative(path)}`: {e}")
    return ("**Converted videos**\n\n" + "\n".join(lines)) if lines else ""


def side_by_side(original: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    gap = np.full((original.shape[0], 8, 3), 255, np.uint8)
    return np.concatenate([original, gap, swapped], axis=1)


def preview_image(ctx: Context, video, model, to, alignments, frame, smooth, mask, erode, blur, color, blend,
                  sharpen=DEFAULT_SHARPEN, occlusion=None, show_mask=False):
    """(side-by-side image, timing line) of one frame; the tab's preview handler."""
    if not video or not model:
        return None, "Choose a video and a model."
    t0 = time.perf_counter()
    src = ctx.root.resolve(video, "video", must_exist=True)
    mdl = ctx.root.resolve(model, "model", must_exist=True)
    align = None if alignments in (None, "", NO_ALIGNMENTS) else ctx.root.resolve(alignments, "faceset", must_exist=True)
    with ctx.preview_lock:
        preview = ctx.preview(src, mdl, to or None, align)
        index = min(max(int(frame or 0), 0), max(len(preview) - 1, 0))
        swapped = preview.swap(index, bool(smooth))
        t1 = time.perf_counter()
        image = preview.render(swapped, mask=mask, mask_erode=float(erode), mask_blur=float(blur), color=color,
                               blend=blend, sharpen=float(sharpen), occlusion=occlusion, show_mask=bool(show_mask))
    t2 = time.perf_counter()
    faces = len(swapped.faces)
    return side_by_side(swapped.image, image), (
        f"frame {index}: {faces} face{'s' * (faces != 1)} -> {preview.identity}; "
        f"faces + model {1000 * (t1 - t0):.0f} ms, blend {1000 * (t2 - t1):.0f} ms")


def listen(ctx: Context, w: SimpleNamespace) -> None:
    import gradio as gr

    @one_line
    def pick_inputs(video, model):
        """New video or model: the slider's range, the identities, the faceset, the sharpening."""
        updates = [gr.update(), gr.update(), gr.update(), gr.update(), gr.update()]  # frame, to, alignments, output, sharpen
        if video:
            from faceswap.video import FrameReader

            src = ctx.root.resolve(video, "video", must_exist=True)
            n = max(len(FrameReader(src)), 1)
            sets = matching_facesets(ctx, src)
            updates[0] = gr.update(minimum=0, maximum=n - 1, value=0)
            updates[2] = gr.update(choices=[NO_ALIGNMENTS] + sets, value=sets[0] if sets else NO_ALIGNMENTS)
            updates[3] = f"outputs/{src.stem}_swapped.mp4"
        if model:
            mdl = ctx.root.resolve(model, "model", must_exist=True)
            try:
                meta = json.loads((mdl / "config.json").read_text())["extra"]["faceswap"]
                ids = list(meta["identities"])
            except (OSError, ValueError, KeyError, TypeError):
                raise FaceswapError(f"{model}: not a model folder (no readable config.json)") from None
            labels = [(f"{i} ({Path(meta.get(f'faceset_{i}') or i).name})", i) for i in ids]
            to = ids[1] if len(ids) == 2 else ids[0]
            updates[1] = gr.update(choices=labels, value=to)
            from faceswap.train.refine import has_detail

            updates[4] = gr.update(value=resolve_sharpen(None, has_detail(mdl, to)))  # what convert's auto uses
        return updates

    show = one_line(lambda *args: preview_image(ctx, *args))

    @one_line
    def start(video, model, to, alignments, output, mask, erode, blur, color, blend, sharpen, smooth, occlusion,
              watermark, force):
        src = ctx.root.resolve(video, "video", must_exist=True)
        mdl = ctx.root.resolve(model, "model", must_exist=True)
        out = ctx.root.resolve(output or f"outputs/{src.stem}_swapped.mp4", "output")
        align = None if alignments in (None, "", NO_ALIGNMENTS) else ctx.root.resolve(alignments, must_exist=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        kwargs = dict(input=src, model_dir=mdl, output=out, to=to or None, alignments=align, mask=mask,
                      mask_erode=float(erode), mask_blur=float(blur), color=color, blend=blend, sharpen=float(sharpen),
                      smooth=bool(smooth), occlusion=bool(occlusion), watermark=watermark or None, force=bool(force), device=ctx.device, progress=True)
        return status_html(ctx.jobs.start("convert", kwargs, [out], inputs=[src, mdl, align]))

    def tick(seen):
        job = ctx.jobs.latest("convert")
        if job is None:
            return status_html(None), gr.update(), gr.update(), seen
        mark = (job.id, job.state)
        if mark == seen or job.running:
            return status_html(job), gr.update(), gr.update(), seen
        real = ctx.root.inside(job.outputs[0]) if job.state == "done" else None
        video = str(real) if real is not None and real.is_file() else None
        return status_html(job), converted_videos(ctx), video, mark

    settings = [w.video, w.model, w.to, w.alignments, w.frame, w.smooth, w.mask, w.erode, w.blur, w.color, w.blend,
                w.sharpen, w.occlusion, w.show_mask]
    picked = [w.frame, w.to, w.alignments, w.output, w.sharpen]
    w.video.change(pick_inputs, [w.video, w.model], picked)
    w.model.change(pick_inputs, [w.video, w.model], picked)
    for widget in (w.to, w.alignments, w.frame, w.smooth, w.mask, w.erode, w.blur, w.color, w.blend, w.sharpen,
                   w.occlusion, w.show_mask):
        widget.change(show, settings, [w.preview, w.timing], trigger_mode="always_last", show_progress="hidden")
    w.start.click(start, [w.video, w.model, w.to, w.alignments, w.output, w.mask, w.erode, w.blur, w.color, w.blend,
                          w.sharpen, w.smooth, w.occlusion, w.watermark, w.force], w.status)
    w.refresh.click(lambda: [gr.update(choices=ctx.root.videos()), gr.update(choices=ctx.root.models()),
                             converted_videos(ctx)], None, [w.video, w.model, w.outputs])
    w.timer.tick(tick, w.seen, [w.status, w.outputs, w.result, w.seen], show_progress="hidden")
