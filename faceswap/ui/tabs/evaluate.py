"""Evaluate tab: the figures of `faceswap evaluate` for a converted video."""

from __future__ import annotations

from types import SimpleNamespace

from faceswap.ui.common import Context, number, one_line, status_html

TITLE = "Evaluate"


def render(ctx: Context) -> SimpleNamespace:
    import gradio as gr

    w = SimpleNamespace()
    gr.Markdown("Score a swap against its source: reconstruction SSIM/PSNR, pose kept, flicker "
                "(`faceswap evaluate`).")
    with gr.Row():
        videos = ctx.root.videos()
        w.original = gr.Dropdown(videos, value=None, label="Source video", allow_custom_value=True)
        w.swapped = gr.Dropdown(videos, value=None, label="Converted video", allow_custom_value=True)
        w.model = gr.Dropdown(ctx.root.models(), value=None, label="Model used", allow_custom_value=True)
        w.every = gr.Number(1, label="Compare every Nth frame", precision=0)
    with gr.Row():
        w.start = gr.Button("Evaluate", variant="primary")
        w.refresh = gr.Button("Refresh lists", size="sm")
    w.status = gr.HTML(status_html(None))
    w.table = gr.Code(label="Report", language=None, interactive=False)
    w.timer = gr.Timer(1.0)
    w.seen = gr.State(None)
    return w


def listen(ctx: Context, w: SimpleNamespace) -> None:
    import gradio as gr

    @one_line
    def start(original, swapped, model, every):
        kwargs = dict(original=ctx.root.resolve(original, "source video", must_exist=True),
                      swapped=ctx.root.resolve(swapped, "converted video", must_exist=True),
                      model_dir=ctx.root.resolve(model, "model", must_exist=True),
                      every=number(every, 1), device=ctx.device)
        # it writes nothing: its "output" is only a claim that stops a second identical run
        job = ctx.jobs.start("evaluate", kwargs, [kwargs["swapped"].with_suffix(".evaluate")],
                             inputs=[kwargs["original"], kwargs["swapped"], kwargs["model_dir"]])
        return status_html(job)

    def tick(seen):
        job = ctx.jobs.latest("evaluate")
        if job is None:
            return status_html(None), gr.update(), seen
        mark = (job.id, job.state)
        if mark == seen or job.running:
            return status_html(job), gr.update(), seen
        return status_html(job), job.result.get("text", ""), mark

    w.start.click(start, [w.original, w.swapped, w.model, w.every], w.status)
    w.refresh.click(lambda: [gr.update(choices=ctx.root.videos())] * 2 + [gr.update(choices=ctx.root.models())],
                    None, [w.original, w.swapped, w.model])
    w.timer.tick(tick, w.seen, [w.status, w.table, w.seen], show_progress="hidden")
