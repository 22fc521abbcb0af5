"""Extract tab: a video (or images) -> a faceset, with faceswap.extract.extract."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from faceswap.ui.common import Context, number, one_line, status_html

TITLE = "Extract"


def render(ctx: Context) -> SimpleNamespace:
    import gradio as gr

    w = SimpleNamespace()
    gr.Markdown("Detect, align and crop the faces of a video into a faceset (`faceswap extract`).")
    with gr.Row():
        with gr.Column(scale=2):
            w.input = gr.Dropdown(ctx.root.videos(), value=None, label="Video, image or image folder (under the root)",
                                  allow_custom_value=True, elem_id="extract-input")
            w.upload = gr.File(label="...or upload one (saved under uploads/)", file_types=["video", "image"],
                               height=90)
            w.output = gr.Textbox(label="Faceset folder", placeholder="faces/<video name>", elem_id="extract-output")
            with gr.Accordion("Options", open=False):
                with gr.Row():
                    w.size = gr.Number(256, label="Crop size (px)", precision=0)
                    w.every = gr.Number(1, label="Every Nth frame", precision=0)
                    w.max_faces = gr.Number(1, label="Faces per frame (0: all)", precision=0)
                with gr.Row():
                    w.min_size = gr.Number(40, label="Smallest face (px)", precision=0)
                    w.threshold = gr.Slider(0.5, 1.0, 0.9, step=0.01, label="Detector score")
                    w.force = gr.Checkbox(False, label="Overwrite an existing faceset")
            with gr.Row():
                w.start = gr.Button("Extract", variant="primary", elem_id="extract-start")
                w.refresh = gr.Button("Refresh lists", size="sm")
            w.status = gr.HTML(status_html(None), elem_id="extract-status")
        with gr.Column(scale=3):
            w.gallery = gr.Gallery(label="Extracted faces", columns=6, height=420, elem_id="extract-gallery")
    w.timer = gr.Timer(1.0)
    w.seen = gr.State(None)
    return w


def _default_output(ctx: Context, value: str | None) -> str:
    if not value:
        return ""
    return f"faces/{Path(value).stem}"


def _faces(ctx: Context, folder: Path, limit: int = 36) -> list:
    """The first crops of a faceset as pixels with their names; a file that is
    (or leads through) a link out of the root is left out."""
    real = ctx.root.inside(folder)
    if real is None or not real.is_dir():
        return []
    faces = ((ctx.root.read_image(p), p.name) for p in sorted(real.glob("*.png"))[:limit])
    return [(image, name) for image, name in faces if image is not None]


def listen(ctx: Context, w: SimpleNamespace) -> None:
    import gradio as gr

    @one_line
    def start(input, output, size, every, max_faces, min_size, threshold, force):
        src = ctx.root.resolve(input, "input", must_exist=True)
        out = ctx.root.resolve(output or _default_output(ctx, input), "faceset folder")
        kwargs = dict(input=src, output=out, size=number(size, 256), every=number(every, 1),
                      max_faces=int(max_faces or 0), min_size=number(min_size, 40), threshold=float(threshold),
                      force=bool(force), device=ctx.device, progress=True)
        job = ctx.jobs.start("extract", kwargs, [out], inputs=[src])
        return status_html(job), ctx.root.relative(out)

    @one_line
    def upload(file):
        if not file:
            return gr.update()
        dest, out = ctx.root.new_file("uploads", Path(file).name)  # never over an existing file or link
        with out, open(file, "rb") as src:
            shutil.copyfileobj(src, out)
        return gr.update(choices=ctx.root.videos(), value=ctx.root.relative(dest))

    def tick(seen):
        job = ctx.jobs.latest("extract")
        if job is None:
            return status_html(None), gr.update(), seen
        mark = (job.id, job.state)
        gallery = gr.update()
        if mark != seen and not job.running:
            gallery = _faces(ctx, job.outputs[0])
        return status_html(job), gallery, mark

    w.start.click(start, [w.input, w.output, w.size, w.every, w.max_faces, w.min_size, w.threshold, w.force],
                  [w.status, w.output])
    w.input.change(lambda v: _default_output(ctx, v), w.input, w.output)
    w.upload.upload(upload, w.upload, w.input)
    w.refresh.click(lambda: gr.update(choices=ctx.root.videos()), None, w.input)
    w.timer.tick(tick, w.seen, [w.status, w.gallery, w.seen], show_progress="hidden")
