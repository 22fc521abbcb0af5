"""Train tab: two facesets -> a model, with faceswap.train.train.

The preview grid and the loss curves are read from the model directory
(preview.png, trainer.pt's history), not from the job, so a run started
from the command line can be watched here too.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from faceswap.errors import FaceswapError
from faceswap.ui.common import Context, number, one_line, status_html

TITLE = "Train"


def render(ctx: Context) -> SimpleNamespace:
    import gradio as gr

    from faceswap.train import PRESETS

    w = SimpleNamespace()
    gr.Markdown("Train a swap model on two facesets (`faceswap train`). An existing model folder is resumed; "
                "Stop saves, like Ctrl-C. Closing the page does not stop training.")
    with gr.Row():
        with gr.Column(scale=2):
            sets = ctx.root.facesets()
            w.faces_a = gr.Dropdown(sets, value=None, label="Faceset A", allow_custom_value=True, elem_id="train-a")
            w.faces_b = gr.Dropdown(sets, value=None, label="Faceset B", allow_custom_value=True, elem_id="train-b")
            w.model = gr.Textbox("models/a2b", label="Model folder", elem_id="train-model")
            with gr.Row():
                w.preset = gr.Dropdown(list(PRESETS), value="lightweight", label="Preset")
                w.iterations = gr.Number(0, label="Until step (0: no limit)", precision=0, elem_id="train-iterations")
                w.time = gr.Textbox("", label="Time budget (e.g. 20m, 1.5h)")
            with gr.Accordion("Options", open=False):
                with gr.Row():
                    w.batch = gr.Number(0, label="Batch size (0: preset's)", precision=0, elem_id="train-batch")
                    w.preview_every = gr.Number(100, label="Preview every N steps", precision=0,
                                                elem_id="train-preview-every")
                    w.save_every = gr.Number(500, label="Save every N steps", precision=0)
                    w.mask = gr.Checkbox(False, label="Learn a mask")
            with gr.Row():
                w.start = gr.Button("Start / resume", variant="primary", elem_id="train-start")
                w.stop = gr.Button("Stop (saves)", variant="stop", elem_id="train-stop")
                w.refresh = gr.Button("Refresh lists", size="sm")
            w.status = gr.HTML(status_html(None), elem_id="train-status")
        with gr.Column(scale=3):
            w.preview = gr.Image(label="Preview (columns: A, A->A, A->B, B, B->B, B->A; a row per face)", type="numpy",
                                 interactive=False, elem_id="train-preview")
            w.loss = gr.LinePlot(x="step", y="loss", color="identity", label="Loss", height=240,
                                 elem_id="train-loss")
    w.timer = gr.Timer(2.0)
    w.seen = gr.State({})
    return w


def loss_table(model_dir: Path, max_points: int = 1000):
    """trainer.pt's history as a long table (step, loss, identity), thinned
    to about `max_points` steps per identity; None without a checkpoint."""
    import pandas as pd

    from faceswap.training import load_trainer_state

    if not (model_dir / "trainer.pt").is_file():
        return None
    history = load_trainer_state(model_dir).get("history") or []
    stride = max(1, len(history) // max_points)
    rows = [(h["step"], float(h[f"loss_{k}"]), k.upper()) for h in history[::stride] for k in ("a", "b")
            if f"loss_{k}" in h]
    return pd.DataFrame(rows, columns=["step", "loss", "identity"])


def listen(ctx: Context, w: SimpleNamespace) -> None:
    import gradio as gr

    from faceswap.train.pipeline import parse_duration

    @one_line
    def start(faces_a, faces_b, model, preset, iterations, time, batch, preview_every, save_every, mask):
        fa = ctx.root.resolve(faces_a, "faceset A", must_exist=True)
        fb = ctx.root.resolve(faces_b, "faceset B", must_exist=True)
        out = ctx.root.resolve(model, "model folder")
        budget = parse_duration(time or None)
        steps = number(iterations)
        if steps is None and budget is None:
            raise FaceswapError("give a step count or a time budget (or both); Stop also ends a run")
        kwargs = dict(faces_a=fa, faces_b=fb, model_dir=out, preset=preset, time=budget,
                      iterations=steps,  # train()'s iterations is the total step count
                      batch_size=number(batch), preview_every=number(preview_every, 100),
                      save_every=number(save_every, 500), mask=bool(mask), device=ctx.device, progress=True)
        job = ctx.jobs.start("train", kwargs, [out], inputs=[fa, fb])
        job.total = steps
        return status_html(job)

    @one_line
    def stop():
        job = ctx.jobs.latest("train")
        if job is None or not job.running:
            raise FaceswapError("no training is running")
        ctx.jobs.stop(job)
        return status_html(job)

    def tick(model, seen):
        job = ctx.jobs.latest("train")
        try:
            folder = ctx.root.resolve(model, "model folder")
        except FaceswapError:
            return status_html(job), gr.update(), gr.update(), seen
        preview, loss = gr.update(), gr.update()
        marks = dict(seen)
        png, pt = folder / "preview.png", folder / "trainer.pt"
        mark = (str(png), png.stat().st_mtime) if png.is_file() else None
        if mark != seen.get("preview"):
            preview, marks["preview"] = (ctx.root.read_image(png) if mark else None), mark
        mark = (str(pt), pt.stat().st_mtime) if pt.is_file() else None
        if mark != seen.get("loss"):
            try:
                loss = loss_table(folder)
            except FaceswapError:
                pass  # a half-written or foreign file: try again next tick
            marks["loss"] = mark
        return status_html(job), preview, loss, marks

    inputs = [w.faces_a, w.faces_b, w.model, w.preset, w.iterations, w.time, w.batch, w.preview_every,
              w.save_every, w.mask]
    w.start.click(start, inputs, w.status)
    w.stop.click(stop, None, w.status)
    w.refresh.click(lambda: [gr.update(choices=ctx.root.facesets())] * 2, None, [w.faces_a, w.faces_b])
    w.timer.tick(tick, [w.model, w.seen], [w.status, w.preview, w.loss, w.seen], show_progress="hidden")
