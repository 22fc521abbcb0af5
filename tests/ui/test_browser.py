"""The whole path driven in a real browser: headless Chromium (the Debian
package's binary; Playwright's own download needs the network) against a
`faceswap ui` server on a free port, with a temporary root holding two short
real clips. Skips without chromium, Playwright or Gradio on a user's machine;
fails instead when CI is set, so a broken install can never hide it."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FACESWAP_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
FRAMES = 30


def _require():
    missing = [name for name in ("gradio", "playwright") if __import__("importlib").util.find_spec(name) is None]
    if not CHROMIUM.exists():
        missing.append(str(CHROMIUM))
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test needs {', '.join(missing)} (CI is set, so this is not skipped)")
        pytest.skip(f"browser test needs {', '.join(missing)}")


@pytest.fixture
def server(tmp_path, faces_dir):
    _require()
    from faceswap.video import cut_clip

    root = tmp_path / "root"
    (root / "clips").mkdir(parents=True)
    cut_clip(faces_dir / "d10.mp4", root / "clips" / "a.mp4", FRAMES)  # 512x512: the preview's size
    cut_clip(faces_dir / "d6.mp4", root / "clips" / "b.mp4", FRAMES)
    from faceswap.ui.server import start_in_subprocess

    log = open(tmp_path / "server.log", "wb")
    try:
        proc, url = start_in_subprocess(root, log=log)
    except RuntimeError as e:
        pytest.fail(f"{e}: {(tmp_path / 'server.log').read_text()[-2000:]}")
    yield url, root
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _pick(page, elem_id: str, value: str) -> None:
    """Type a value into a Gradio drop-down that accepts custom values."""
    box = page.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    box.press("Enter")
    page.locator("body").click(position={"x": 5, "y": 5})


def _wait_job(page, elem_id: str, job: str, timeout_s: float) -> str:
    """Wait until the status of job `job` (e.g. "extract #1") says it ended; returns the text."""
    page.wait_for_function(
        "([id, job]) => { const s = document.querySelector('#' + id);"
        " return s && new RegExp(job + ': (done|failed|stopped)').test(s.innerText); }",
        arg=[elem_id, job], timeout=timeout_s * 1000)
    return page.locator(f"#{elem_id}").inner_text()


def test_extract_train_preview_convert_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, root = server
    t0 = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)  # a busy 2-core machine: a tick can lag
        page.goto(url)

        # Extract both clips.
        for job, name in enumerate(("a", "b"), 1):
            _pick(page, "extract-input", f"clips/{name}.mp4")
            page.wait_for_function("() => document.querySelector('#extract-output textarea, #extract-output input')"
                                   f".value === 'faces/{name}'")
            page.click("#extract-start")
            text = _wait_job(page, "extract-status", f"extract #{job}", 240)
            assert "done" in text, text
            assert (root / "faces" / name / "alignments.json").is_file()
        page.locator("#extract-gallery img").first.wait_for()

        # Train a few steps; the preview grid appears.
        page.get_by_role("tab", name="Train").click()
        _pick(page, "train-a", "faces/a")
        _pick(page, "train-b", "faces/b")
        page.locator("#train-model textarea, #train-model input").first.fill("models/ab")
        page.locator("#train-iterations input").fill("4")
        page.get_by_text("Options").nth(1).click()
        page.locator("#train-batch input").fill("4")
        page.locator("#train-preview-every input").fill("2")
        page.click("#train-start")
        page.locator("#train-preview img").wait_for(timeout=240_000)
        text = _wait_job(page, "train-status", "train #3", 240)
        assert "done" in text and "step 4" in text, text

        # Convert: the preview appears, changes with the slider, then the whole video.
        page.get_by_role("tab", name="Convert").click()
        page.locator("#tab-convert button", has_text="Refresh lists").click()
        _pick(page, "convert-video", "clips/a.mp4")
        _pick(page, "convert-model", "models/ab")
        img = page.locator("#convert-preview img")
        img.wait_for(timeout=120_000)
        first = img.get_attribute("src")
        timing = page.locator("#convert-timing").inner_text()
        assert "frame 0: 1 face" in timing, timing
        page.locator("#convert-frame input[type=number]").fill(str(FRAMES - 5))
        page.locator("#convert-frame input[type=number]").press("Enter")
        page.wait_for_function("src => { const i = document.querySelector('#convert-preview img');"
                               " return i && i.src !== src; }", arg=first, timeout=60_000)
        assert f"frame {FRAMES - 5}" in page.locator("#convert-timing").inner_text()
        # picking a model without a detail upsampler set sharpening to convert's auto (off);
        # turning it on re-renders the same frame
        assert page.locator("#convert-sharpen input[type=number]").input_value() == "0"
        sharp = img.get_attribute("src")
        page.locator("#convert-sharpen input[type=number]").fill("2")
        page.locator("#convert-sharpen input[type=number]").press("Enter")
        page.wait_for_function("src => { const i = document.querySelector('#convert-preview img');"
                               " return i && i.src !== src; }", arg=sharp, timeout=60_000)
        assert f"frame {FRAMES - 5}" in page.locator("#convert-timing").inner_text()
        # the occlusion switch is on (weights/occluder ships); the mask view tints the preview
        assert page.locator("#convert-occlusion input").is_checked()
        plain = img.get_attribute("src")
        page.locator("#convert-show-mask input").check()
        page.wait_for_function("src => { const i = document.querySelector('#convert-preview img');"
                               " return i && i.src !== src; }", arg=plain, timeout=60_000)
        page.locator("#convert-show-mask input").uncheck()
        page.screenshot(path=str(tmp_path / "convert-tab.png"))
        page.click("#convert-start")
        text = _wait_job(page, "convert-status", "convert #4", 240)
        assert "done" in text, text
        listing = page.locator("#convert-outputs")
        listing.get_by_text(re.compile(r"a_swapped\.mp4")).wait_for()
        assert f"outputs/a_swapped.mp4: {FRAMES} frames" in listing.inner_text()
        browser.close()
    assert (root / "outputs" / "a_swapped.mp4").is_file()
    print(f"browser path took {time.perf_counter() - t0:.0f} s")
