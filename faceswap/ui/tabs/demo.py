"""Demo tab: one button that runs `faceswap demo` into <root>/demo-output."""

from __future__ import annotations

from types import SimpleNamespace

from faceswap.ui.common import Context, one_line, status_html

TITLE = "Demo"


def render(ctx: Context) -> SimpleNamespace:
    import gradio as gr

    w = SimpleNamespace()
    gr.Markdown("Swap Grace Hopper's face onto Eileen Collins in a short rendered clip (public-domain faces, "
                "the shipped demo model). Writes `demo-output/` under the root.")
    w.start = gr.Button("Run the demo", variant="primary", elem_id="demo-start")
    w.status = gr.HTML(status_html(None), elem_id="demo-status")
    with gr.Row():
        w.picture = gr.Image(label="Original | swapped", type="numpy", interactive=False)
        w.video = gr.Video(label="Swapped clip", interactive=False)
    w.timer = gr.Timer(1.0)
    w.seen = gr.State(None)
    return w


def listen(ctx: Context, w: SimpleNamespace) -> None:
    import gradio as gr

    @one_line
    def start():
        out = ctx.root.resolve("demo-output")
        job = ctx.jobs.start("demo", dict(output=out, force=True, device=ctx.device, progress=True), [out])
        return status_html(job)

    def tick(seen):
        job = ctx.jobs.latest("demo")
        if job is None:
            return status_html(None), gr.update(), gr.update(), seen
        mark = (job.id, job.state)
        if mark == seen or job.running or job.state != "done":
            return status_html(job), gr.update(), gr.update(), mark if not job.running else seen
        picture, video = job.result.get("picture"), job.result.get("swapped")
        video = ctx.root.inside(video) if video else None
        return (status_html(job), ctx.root.read_image(picture) if picture else None,
                str(video) if video else None, mark)

    w.start.click(start, None, w.status)
    w.timer.tick(tick, w.seen, [w.status, w.picture, w.video, w.seen], show_progress="hidden")
