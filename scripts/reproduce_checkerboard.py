"""Checkerboard artefacts of convolutional decoders: upsample+conv and pixel shuffle (ICNR)
against transposed convolution (Odena, Dumoulin & Olah, Distill 2016; Aitken et al. 2017).

Three conv autoencoders identical but for the decoder's upsampling are trained on MNIST
digits for the same steps. The measure is the share of an image's spectral energy (DC
excluded) at the period-2 frequencies (k = N/2 along either axis), where a checkerboard
pattern lives; we report it for the reconstructions, for their error (output - clean), and
for the clean digits as the reference.

Usage: python scripts/reproduce_checkerboard.py [OUT_DIR]   (default /tmp/faceswap-scripts/checkerboard)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _datasets as data  # noqa: E402

from faceswap.models.autoencoder import conv_autoencoder  # noqa: E402

KINDS = ("upsample", "pixel_shuffle", "transpose")


def period2_share(images: torch.Tensor) -> float:
    """Mean over images of (energy at kx = N/2 or ky = N/2) / (energy at all k != 0). images: (B, C, N, N)."""
    x = images - images.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2)
    n_y, n_x = power.shape[-2:]
    mask = torch.zeros(n_y, n_x, dtype=torch.bool)
    mask[n_y // 2, :] = True
    mask[:, n_x // 2] = True
    total = power.flatten(-2).sum(-1).clamp_min(1e-12)
    return (power[..., mask].sum(-1) / total).mean().item()


def run(out_dir: Path, steps: int = 300, channels=(8, 16), n_train: int = 4000, n_eval: int = 500,
        seed: int = 0) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    x, _ = data.mnist()
    tr, te = data.split(len(x), seed=seed)
    tr, te = tr[:n_train], te[:n_eval]
    clean = x[te]
    res: dict = {"clean": period2_share(clean), "kinds": {}}
    pics = [clean[:10]]
    for kind in KINDS:
        torch.manual_seed(seed)
        model = conv_autoencoder(1, channels, upsample=kind, recon_loss="bce")
        losses = data.train(model, x[tr], steps=steps, batch_size=64, lr=2e-3, seed=seed)
        model.eval()
        with torch.no_grad():
            out = model(clean)
        res["kinds"][kind] = {"output": period2_share(out.recon), "error": period2_share(out.recon - clean),
                              "recon_loss": out.parts["recon_loss"].item(),
                              "first_loss": losses[0] if losses else float("nan")}
        pics.append(out.recon[:10])
    data.save_grid(data.upscale(torch.cat(pics), 3), out_dir / "checkerboard_recon.png", nrow=10, pad=2)
    res.update(steps=steps, n_eval=len(te), picture=out_dir / "checkerboard_recon.png", seconds=time.time() - t0)
    return res


def report(res: dict) -> None:
    print(f"\nCheckerboard measure on held-out MNIST (n={res['n_eval']}, conv AE, {res['steps']} steps each):")
    print("share of spectral energy at the period-2 frequencies (lower = fewer checkerboard artefacts)")
    print(f"{'decoder':15s} {'output':>9s} {'error':>9s} {'recon BCE':>10s}")
    for kind, r in res["kinds"].items():
        print(f"{kind:15s} {r['output']:9.5f} {r['error']:9.5f} {r['recon_loss']:10.2f}")
    print(f"{'clean digits':15s} {res['clean']:9.5f}")
    print(f"picture (rows: clean / upsample / pixel_shuffle / transpose): {res['picture']}; "
          f"took {res['seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)
    report(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/faceswap-scripts/checkerboard")))
