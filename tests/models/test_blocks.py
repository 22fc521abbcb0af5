"""Blocks: shapes, ICNR (no checkerboard at init), factory errors, MLP."""

import pytest
import torch
import torch.nn.functional as F

from faceswap.models import ModelError
from faceswap.models.blocks import (
    PixelShuffleUpsample,
    ResidualBlock,
    UpsampleConv,
    conv_block,
    icnr_,
    mlp,
    upsample_block,
)


def test_conv_block_halves():
    assert conv_block(3, 8)(torch.rand(2, 3, 16, 16)).shape == (2, 8, 8, 8)


@pytest.mark.parametrize("kind", ["upsample", "pixel_shuffle", "transpose"])
@pytest.mark.parametrize("scale", [2, 3])
def test_upsample_shapes(kind, scale):
    block = upsample_block(kind, 4, 6, scale=scale)
    assert block(torch.rand(2, 4, 5, 7)).shape == (2, 6, 5 * scale, 7 * scale)


def test_unknown_upsample_kind():
    with pytest.raises(ModelError, match="unknown upsample kind 'bilinear'"):
        upsample_block("bilinear", 4, 4)


@pytest.mark.parametrize("scale", [2, 3])
def test_icnr_pixel_shuffle_is_nearest_upsample_at_init(scale):
    torch.manual_seed(0)
    up = PixelShuffleUpsample(4, 3, scale=scale)
    x = torch.randn(2, 4, 6, 6)
    y = up(x)
    # every r x r cell is constant: no checkerboard
    for dy in range(scale):
        for dx in range(scale):
            torch.testing.assert_close(y[..., dy::scale, dx::scale], y[..., ::scale, ::scale])
    # and it equals nearest-neighbour upsampling of the base convolution
    base_w = up.conv.weight[::scale * scale]
    base_b = up.conv.bias[::scale * scale]
    base = F.leaky_relu(F.conv2d(x, base_w, base_b, padding=1), 0.1)
    torch.testing.assert_close(y, F.interpolate(base, scale_factor=scale, mode="nearest"))


def test_icnr_rejects_bad_shape():
    with pytest.raises(ModelError):
        icnr_(torch.empty(6, 2, 3, 3), scale=2)


def test_upsample_conv_and_residual():
    assert UpsampleConv(4, 2)(torch.rand(1, 4, 3, 3)).shape == (1, 2, 6, 6)
    block = ResidualBlock(4)
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(block(x), F.leaky_relu(x, 0.1))  # identity path at init


def test_mlp():
    net = mlp([5, 7, 2], "tanh", "sigmoid")
    y = net(torch.randn(3, 5))
    assert y.shape == (3, 2) and (y > 0).all() and (y < 1).all()
    with pytest.raises(ModelError, match="unknown activation"):
        mlp([2, 2], "swishy")
    with pytest.raises(ModelError):
        mlp([3])
