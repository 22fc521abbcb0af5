"""Sparse autoencoders (Ng 2011) on real data.

1. sklearn digits (8x8): no penalty vs KL sparsity vs L1 activity at the same width: mean
   hidden activation, held-out reconstruction error (sum of squares per image) and the
   accuracy of a linear probe (logistic regression) trained on the codes.
2. 8x8 patches of sklearn's china.jpg and flower.jpg, KL-sparse with 64 hidden units (Ng's
   recipe): the encoder's filters are saved as an image; they come out as oriented edges and
   bars, and their spectral orientedness is printed beside that of white-noise filters.

Usage: python scripts/reproduce_sparse.py [OUT_DIR]   (default /tmp/faceswap-scripts/sparse)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _datasets as data  # noqa: E402

from faceswap.models.sparse import SparseAutoEncoder  # noqa: E402


def probe_accuracy(train_codes, train_y, test_codes, test_y) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000)
    clf.fit(train_codes.numpy(), train_y.numpy())
    return float(clf.score(test_codes.numpy(), test_y.numpy()))


def digits_table(width=100, steps=2000, kl_weight=3.0, target=0.05, l1_weight=0.1, seed=0) -> dict[str, dict]:
    """Train three same-width autoencoders on digits; measure them on the held-out 20%."""
    x, y = data.digits()
    x = x.flatten(1)
    tr, te = data.split(len(x))
    rows = {}
    for name, penalty, weight in (("none", "none", 0.0), ("kl", "kl", kl_weight), ("l1", "l1", l1_weight)):
        torch.manual_seed(seed)
        model = SparseAutoEncoder([64, width, 64], penalty=penalty, target=target, weight=weight)
        data.train(model, x[tr], steps=steps, lr=3e-3, seed=seed)
        model.eval()
        with torch.no_grad():
            out_te, out_tr = model(x[te]), model(x[tr])
        rows[name] = {
            "mean_activation": out_te.code.mean().item(),
            "frac_below_0.1": (out_te.code < 0.1).float().mean().item(),
            "recon_error": out_te.parts["recon_loss"].item(),
            "probe_accuracy": probe_accuracy(out_tr.code, y[tr], out_te.code, y[te]),
        }
    return rows


def patch_filters(hidden=64, iterations=400, n_patches=10000, weight=3.0, target=0.01, decay=1e-4, seed=0):
    """KL-sparse autoencoder on natural image patches; returns (model, filters (hidden, 1, 8, 8), losses).

    The recipe of Ng's CS294A notes (2011): 8x8 grey patches with each patch's mean removed,
    truncated to +-3 standard deviations and squashed to [0.1, 0.9] so that a sigmoid decoder can
    reproduce them; sigmoid code with target activation 0.01 and KL weight 3; weight decay as an
    explicit L2 term on the weight matrices (not the biases); full-batch L-BFGS, as in the notes
    (a closure-driven optimiser, so this one loop is written out instead of using fit). The photos
    are block-averaged 2x2 first so that JPEG's 8x8 block artefacts do not dominate the patches.
    (ZCA-whitened patches with a linear decoder, trained by Adam, gave noise-like filters here.)
    """
    x = data.natural_patches(n_patches, seed=seed, whiten=False, downsample=2)
    s = 3 * x.std()
    x = (x.clamp(-s, s) / s + 1) * 0.4 + 0.1
    torch.manual_seed(seed)
    model = SparseAutoEncoder([64, hidden, 64], penalty="kl", target=target, weight=weight)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=iterations, max_eval=2 * iterations,
                            history_size=50, line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    losses: list[float] = []

    def closure():
        opt.zero_grad()
        loss = model(x).loss + decay * sum((w ** 2).sum() for w in weights)
        loss.backward()
        losses.append(float(loss))
        return loss

    opt.step(closure)
    filters = model.encoder[0].weight.detach().reshape(hidden, 1, 8, 8)
    return model, filters, losses


def orientedness(filters: torch.Tensor) -> float:
    """Mean anisotropy of the filters' power spectra, in [0, 1].

    For each filter (mean removed) take the 2x2 second-moment matrix of its power spectrum
    over the frequency plane, M = sum_k P(k) k k^T / sum_k P(k), with eigenvalues l1 >= l2;
    anisotropy = (l1 - l2) / (l1 + l2). An oriented edge puts its energy on a line through
    the origin (-> near 1); a blob or white noise spreads it evenly (-> near 0).
    """
    f = filters[:, 0] - filters[:, 0].mean(dim=(1, 2), keepdim=True)
    n = f.shape[-1]
    power = torch.fft.fftshift(torch.fft.fft2(f).abs() ** 2, dim=(-2, -1))
    k = (torch.arange(n) - n // 2).float()
    ky, kx = torch.meshgrid(k, k, indexing="ij")
    total = power.sum(dim=(1, 2)).clamp_min(1e-12)
    mxx = (power * kx * kx).sum(dim=(1, 2)) / total
    myy = (power * ky * ky).sum(dim=(1, 2)) / total
    mxy = (power * kx * ky).sum(dim=(1, 2)) / total
    root = torch.sqrt((mxx - myy) ** 2 + 4 * mxy ** 2)
    return (root / (mxx + myy).clamp_min(1e-12)).mean().item()


def run(out_dir: Path, quick: bool = False) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if quick:
        table = digits_table(width=64, steps=600)
        _, filters, losses = patch_filters(hidden=64, iterations=150, n_patches=5000)
    else:
        table = digits_table()
        _, filters, losses = patch_filters()
    data.save_grid(data.upscale(filters, 4), out_dir / "sparse_patch_filters.png", nrow=10, pad=2,
                   normalise_each=True)
    rng = torch.Generator().manual_seed(0)
    random_filters = torch.randn(filters.shape, generator=rng)
    return {"digits": table, "orientedness": orientedness(filters),
            "orientedness_random": orientedness(random_filters),
            "patch_loss_first_last": (losses[0], losses[-1]) if losses else None,
            "filters": out_dir / "sparse_patch_filters.png", "seconds": time.time() - t0}


def report(res: dict) -> None:
    print("\nSparse autoencoders on sklearn digits (held-out 20%, same width):")
    print(f"{'penalty':8s} {'mean act':>9s} {'act<0.1':>8s} {'recon SSE':>10s} {'probe acc':>10s}")
    for name, r in res["digits"].items():
        print(f"{name:8s} {r['mean_activation']:9.3f} {r['frac_below_0.1']:8.3f} {r['recon_error']:10.3f} "
              f"{r['probe_accuracy']:10.3f}")
    print(f"\nNatural patches: filters saved to {res['filters']}")
    print(f"orientedness (spectral anisotropy, 0 = isotropic, 1 = one orientation): "
          f"{res['orientedness']:.3f} (white-noise filters {res['orientedness_random']:.3f})")
    print(f"patch loss first/last: {res['patch_loss_first_last']}; took {res['seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny models: one thread is faster, and the machine is shared
    report(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/faceswap-scripts/sparse")))
