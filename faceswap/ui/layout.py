"""The page: a header and one tab per stage of the user's path. Only
arrangement happens here; each tab module builds and wires its own widgets."""

from __future__ import annotations

from faceswap.ui.common import Context
from faceswap.ui.tabs import convert, demo, evaluate, extract, train

TABS = (extract, train, convert, evaluate, demo)

CSS = """
.fs-status { font-size: 0.95em; min-height: 1.5em; }
.fs-status progress { height: 0.8em; }
footer { display: none !important; }
"""


def build(ctx: Context):
    import gradio as gr

    with gr.Blocks(title="faceswap", analytics_enabled=False) as page:
        gr.Markdown(f"## faceswap\nFolders this page may use: `{ctx.root.describe()}`. "
                    "Swap only faces of people who agreed to it; outputs are labelled as synthetic.")
        with gr.Tabs():
            for tab in TABS:
                with gr.Tab(tab.TITLE, id=tab.TITLE.lower(), elem_id=f"tab-{tab.TITLE.lower()}"):
                    tab.listen(ctx, tab.render(ctx))
    return page
