"""Preview grid: six columns per face row, written as a readable PNG."""

from __future__ import annotations

import cv2
import pytest
import torch

from faceswap.errors import FaceswapError
from faceswap.models.swap import SwapAutoEncoder
from faceswap.train.pipeline import parse_duration
from faceswap.train.presets import model_config
from faceswap.train.preview import COLUMNS, preview_grid, save_preview

from .conftest import TINY


def test_grid_layout_and_file(tmp_path):
    model = SwapAutoEncoder(model_config(TINY))
    a, b = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    grid = preview_grid(model, a, b)
    assert grid.shape == (3 * 16, len(COLUMNS) * 16, 3) and grid.dtype.name == "uint8"
    assert abs(int(grid[0, 0, 0]) - round(float(a[0, 0, 0, 0]) * 255)) <= 1  # column A is the input itself
    path = save_preview(tmp_path / "preview.png", grid)
    img = cv2.imread(str(path))
    assert img.shape[0] > grid.shape[0] and img.shape[1] == grid.shape[1]  # + title strip
    assert [p.name for p in tmp_path.iterdir()] == ["preview.png"]  # no temp file left


def test_parse_duration():
    assert parse_duration("90") == 90 and parse_duration("20m") == 1200 and parse_duration("1.5h") == 5400
    assert parse_duration(None) is None
    with pytest.raises(FaceswapError, match="not a duration"):
        parse_duration("soon")
