"""A linear autoencoder finds PCA's subspace; a nonlinear one beats it (UCI banknote).

Baldi & Hornik (Neural Networks, 1989) showed that a linear autoencoder with a
k-unit bottleneck trained on squared error reaches the same minimum as
projecting onto the top k principal components (it spans the same subspace,
though not necessarily with orthogonal axes). A nonlinear autoencoder with the
same 2-unit code can do better (Hinton & Salakhutdinov, Science 2006).

Data: UCI "banknote authentication" (1372 rows, 4 wavelet features + class),
standardised. We compare the reconstruction mean squared error (per feature)
of: PCA with 2 components (numpy SVD), a linear AE 4-2-4, and a nonlinear AE
4-6-4-2-4-6-4 (ELU hidden layers, linear code); and plot both 2-D codes
coloured by class.

    python scripts/reproduce_pca.py [--data DIR_OR_CSV] [--out PNG] [--steps N]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "banknote"
CSV_NAME = "data_banknote_authentication.csv"


def load_banknote(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 4) float64, labels (N,) int) from the CSV (or its folder); skips a header row."""
    path = Path(path)
    if path.is_dir():
        path = path / CSV_NAME
    if not path.is_file():
        raise SystemExit(f"{path}: banknote CSV not found; pass --data with the UCI banknote CSV")
    first = path.open().readline()
    skip = 0 if first.split(",")[0].strip().lstrip("-").replace(".", "", 1).isdigit() else 1
    table = np.loadtxt(path, delimiter=",", skiprows=skip)
    return table[:, :4], table[:, 4].astype(int)


def standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / x.std(0)


def pca(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, float]:
    """(codes (N, k), per-element MSE of the rank-k reconstruction) for centred x via SVD."""
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    codes = x @ vt[:k].T
    return codes, float(((codes @ vt[:k] - x) ** 2).mean())


@dataclass
class PCAResult:
    pca_mse: float
    linear_mse: float
    nonlinear_mse: float
    codes: dict  # name -> (N, 2) numpy codes
    labels: np.ndarray

    def summary(self) -> str:
        return (
            f"reconstruction MSE per feature (standardised banknote, 2-D code):\n"
            f"  PCA (2 components)        {self.pca_mse:.4f}\n"
            f"  linear AE 4-2-4           {self.linear_mse:.4f}  ({100 * (self.linear_mse / self.pca_mse - 1):+.1f}% vs PCA)\n"
            f"  nonlinear AE 4-6-4-2-4-6-4 {self.nonlinear_mse:.4f}  ({100 * (self.nonlinear_mse / self.pca_mse - 1):+.1f}% vs PCA)"
        )


def _train(sizes: list[int], activation: str | None, x: torch.Tensor, steps: int, lr: float, seed: int):
    """Full-batch Adam with a step-decayed rate; returns (model, per-element MSE)."""
    from faceswap.models import dense_autoencoder
    from faceswap.training import Callback, fit

    torch.manual_seed(seed)
    model = dense_autoencoder(sizes, activation, None, code_activation=None)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)  # anneal to settle into the minimum
    fit(model, lambda step: x, steps=steps, optimizer=opt, device="cpu", seed=seed, progress=False,
        callbacks=[Callback(1, lambda s: sched.step())])
    model.eval()
    with torch.no_grad():
        out = model(x)
    # the library's "mse" sums over the 4 features and averages rows: divide by 4 for per-element MSE
    return model, float(out.loss) / x.shape[1]


def run(data: str | Path = DEFAULT_DATA, linear_steps: int = 1500, nonlinear_steps: int = 3000, seed: int = 0) -> PCAResult:
    features, labels = load_banknote(data)
    xs = standardise(features)
    pca_codes, pca_mse = pca(xs, 2)
    x = torch.tensor(xs, dtype=torch.float32)
    lin, lin_mse = _train([4, 2, 4], None, x, linear_steps, 0.05, seed)
    non, non_mse = _train([4, 6, 4, 2, 4, 6, 4], "elu", x, nonlinear_steps, 0.02, seed)
    with torch.no_grad():
        codes = {"PCA": pca_codes, "linear AE": lin.encode(x).numpy(), "nonlinear AE": non.encode(x).numpy()}
    return PCAResult(pca_mse, lin_mse, non_mse, codes, labels)


def plot(result: PCAResult, out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    errors = {"PCA": result.pca_mse, "linear AE": result.linear_mse, "nonlinear AE": result.nonlinear_mse}
    for ax, (name, c) in zip(axes, result.codes.items()):
        for cls, colour in ((0, "tab:blue"), (1, "tab:orange")):
            sel = result.labels == cls
            ax.scatter(c[sel, 0], c[sel, 1], s=4, c=colour, label="genuine" if cls == 0 else "forged")
        ax.set_title(f"{name}: MSE {errors[name]:.3f}")
        ax.set_xlabel("code 1")
        ax.set_ylabel("code 2")
    axes[0].legend(markerscale=3)
    fig.suptitle("UCI banknote: 2-D codes coloured by class")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="banknote CSV or its folder")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "faceswap_out" / "pca_codes.png"))
    ap.add_argument("--steps", type=int, default=3000, help="nonlinear AE steps (linear: half)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    r = run(args.data, args.steps // 2, args.steps, args.seed)
    png = plot(r, args.out)
    print(f"codes plotted to {png}")
    print(r.summary())


if __name__ == "__main__":
    main()
