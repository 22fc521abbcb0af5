import subprocess
import sys

import pytest

from faceswap import __version__
from faceswap.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"faceswap {__version__}"


def test_help_lists_usage(capsys):
    assert main(["--help"]) == 0
    assert "faceswap" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "faceswap.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


def test_unknown_command_fails(capsys):
    assert main(["no-such-command"]) != 0


# ---- one dialect: every command's --help ------------------------------------
import re

from typer.core import TyperOption
from typer.main import get_command

from faceswap.cli import app

GROUP = get_command(app)
COMMANDS = sorted(GROUP.commands)
# Options that share a name but mean different things per command, so their
# defaults differ: why, for each.
OWN_DEFAULTS = {
    "output": "demo writes demo-output/ by default; extract and convert need one",
    "iterations": "demo's is the length of --train; train's and refine's are totals",
    "mask": "train learns one (a flag); convert picks one (a choice)",
    "smooth": "extract smooths landmarks (off); convert smooths the alignment (on)",
    "threshold": "extract's is a detector score, clean's an identity distance",
    "batch_size": "frames per batch in extract, faces per step or call elsewhere",
}
# Options that mean the same everywhere: the same help text too.
SAME_HELP = {"device", "threads", "progress", "force", "time", "rotate", "like_threshold", "seed"}


def _options():
    for name in COMMANDS:
        for param in GROUP.commands[name].params:
            if isinstance(param, TyperOption) and not param.hidden:
                yield name, param


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_no_type_noise(command, capsys):
    assert main([command, "--help"] if command else ["--help"]) == 0
    out = capsys.readouterr().out
    assert not re.findall(r"<[a-z][^>]*>", out), out  # typer's <bool>, <path>, <list[Path]>
    assert not re.findall(r"\{[a-z_]+\}", out), out  # typer's {faces_a} in the usage line
    usage = out.strip().splitlines()[0]
    assert usage.startswith("Usage: faceswap"), usage


def test_every_command_and_option_has_a_help_sentence():
    for name in COMMANDS:
        command = GROUP.commands[name]
        short = command.get_short_help_str(limit=66)  # what `faceswap --help` lists, at 80 columns
        assert short.endswith(".") and not short.endswith("..."), f"{name}: {short!r} is not one short sentence"
        for param in command.params:
            text = (param.help or "").strip()
            assert text, f"faceswap {name} {param.name}: no help text"
            assert not text[0].islower() and text.endswith("."), f"faceswap {name} {param.name}: {text!r}"


def test_the_same_option_is_spelled_the_same_everywhere():
    flags, dests, defaults, helps = {}, {}, {}, {}
    for name, p in _options():
        spelled = tuple(sorted(p.opts)) + tuple(sorted(p.secondary_opts))
        flags.setdefault(p.name, {}).setdefault(spelled, []).append(name)
        for flag in spelled:
            dests.setdefault(flag, {}).setdefault(p.name, []).append(name)
        defaults.setdefault(p.name, {}).setdefault(repr(p.default), []).append(name)
        helps.setdefault(p.name, {}).setdefault(p.help, []).append(name)
    assert {d: s for d, s in flags.items() if len(s) > 1} == {}, "one option, several spellings"
    assert {f: d for f, d in dests.items() if len(d) > 1} == {}, "one flag, several options"
    assert {d: v for d, v in defaults.items() if len(v) > 1 and d not in OWN_DEFAULTS} == {}, "one option, several defaults"
    assert {d: h for d, h in helps.items() if d in SAME_HELP and len(h) > 1} == {}, "one option, several help texts"


def test_preset_choices_listed_are_the_presets():
    from faceswap.cli_style import PRESETS as listed
    from faceswap.train.presets import PRESETS

    assert listed == "|".join(PRESETS)


def test_help_stays_fast_without_torch():
    """`faceswap --help` and each command's --help load no stage (torch takes seconds)."""
    code = ("import sys, contextlib, io\nfrom faceswap.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    for c in {COMMANDS!r}: main([c, '--help'])\n"
            "print(sorted(m for m in ('torch', 'cv2', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
