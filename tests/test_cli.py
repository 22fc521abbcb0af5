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
