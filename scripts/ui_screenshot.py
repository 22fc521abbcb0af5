"""Screenshot of the Convert tab for the README: a real pair, a model trained for it.

    python scripts/ui_screenshot.py --video a.mp4 --model models/a2b --faces faces/a_clip \\
        --frame 60 --out faceswap/ui/convert-tab.png

Copies the video, the model and the video's faceset into a temporary root,
starts `faceswap ui` on it (localhost, a free port), drives the Debian
`chromium` binary through Playwright to the Convert tab, picks the three,
moves to `--frame` and saves the page once the swapped preview of that frame
is shown. Needs the `ui` extra, Playwright and chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("FACESWAP_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _pick(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    box.press("Enter")
    page.locator("body").click(position={"x": 5, "y": 5})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--faces", type=Path, required=True, help="the video's faceset (alignments.json)")
    ap.add_argument("--frame", type=int, default=60)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="faceswap-shot-") as tmp:
        root = Path(tmp) / "root"
        (root / "clips").mkdir(parents=True)
        shutil.copy2(args.video, root / "clips" / args.video.name)
        shutil.copytree(args.model, root / "models" / args.model.name,
                        ignore=shutil.ignore_patterns("trainer.pt", "*.mp4"))
        shutil.copytree(args.faces, root / "faces" / args.faces.name)
        from faceswap.ui.server import start_in_subprocess

        try:
            server, url = start_in_subprocess(root)
        except RuntimeError as e:
            sys.exit(str(e))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 920})
                page.set_default_timeout(120_000)
                page.goto(url)
                page.get_by_role("tab", name="Convert").click()
                page.locator("#tab-convert button", has_text="Refresh lists").click()
                _pick(page, "convert-video", f"clips/{args.video.name}")
                _pick(page, "convert-model", f"models/{args.model.name}")
                _pick(page, "convert-alignments", f"faces/{args.faces.name}")
                page.locator("#convert-preview img").wait_for()
                page.locator("#convert-frame input[type=number]").fill(str(args.frame))
                page.locator("#convert-frame input[type=number]").press("Enter")
                page.wait_for_function("f => document.querySelector('#convert-timing')?.innerText"
                                       ".startsWith('frame ' + f + ':')", arg=args.frame)
                time.sleep(1.0)  # let the new image paint
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                print(f"{args.out}: {page.locator('#convert-timing').inner_text()}")
                browser.close()
        finally:
            server.terminate()
            server.wait(60)


if __name__ == "__main__":
    main()
