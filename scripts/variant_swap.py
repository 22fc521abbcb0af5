"""Build a face-swap variant from library parts and train it through the face trainer's API.

The variant: the "lightweight" SwapAutoEncoder (shared encoder, one decoder per identity)
with a VARIATIONAL bottleneck in the shared encoder: the encoder's code map is the mean
mu, a 1x1 convolution gives log sigma^2, the decoders see z = mu + sigma * eps during
training, and beta * KL(q(z|x) || N(0, I)) (faceswap.models.vae.gaussian_kl) joins the
loss. Optionally (--adversarial) the GAN discriminator of faceswap.models.gan adds an
adversarial term through the trainer's AdversarialTerm.

It trains with exactly the pieces `faceswap train` uses: faceswap.train.data (facesets,
SwapBatches with random-warp augmentation), faceswap.train.losses.FaceLoss (L1 + DSSIM),
faceswap.train.trainer.SwapTrainer and faceswap.training.fit; only the model differs.

Faces: two faceset folders, or (default) extracted here from two of ../shared/data/faces
(every Nth frame, MTCNN via faceswap.extract).

Usage: python scripts/variant_swap.py [OUT_DIR] [--steps N]   (default /tmp/faceswap-scripts/variant)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

from faceswap.models.autoencoder import ModelOutput
from faceswap.models.swap import SwapAutoEncoder
from faceswap.models.vae import gaussian_kl

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"


class VariationalSwap(nn.Module):
    """SwapAutoEncoder with a Gaussian bottleneck on the shared code (B, C, h, w).

    encode() samples z in training (mu at eval) and records the per-sample KL, which the
    trainer below collects. decode/swap/identities/resolution pass through to the base model.
    """

    def __init__(self, base: SwapAutoEncoder):
        super().__init__()
        self.base = base
        channels = base.config["bottleneck_channels"]
        self.logvar = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, -6.0)  # start nearly deterministic: sigma ~ 0.05
        self.identities, self.resolution, self.has_mask = base.identities, base.resolution, base.has_mask
        self.kls: list[torch.Tensor] = []

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        mu = self.base.encode(x)
        if not self.training:
            return mu
        logvar = self.logvar(mu).clamp(-12, 8)
        self.kls.append(gaussian_kl(mu.flatten(1), logvar.flatten(1)))
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, code: torch.Tensor, identity: str):
        return self.base.decode(code, identity)

    def swap(self, x: torch.Tensor, to: str):
        return self.decode(self.encode(x), to)


def make_trainer(model: VariationalSwap, beta: float, adversarial: float):
    from faceswap.train.losses import AdversarialTerm, FaceLoss
    from faceswap.train.trainer import SwapTrainer

    class VariationalSwapTrainer(SwapTrainer):
        """SwapTrainer plus beta * KL of the variational bottleneck (both identities' batches)."""

        def forward(self, a_in, a_target, b_in, b_target) -> ModelOutput:
            self.model.kls.clear()
            out = super().forward(a_in, a_target, b_in, b_target)
            kl = torch.stack([k.mean() for k in self.model.kls]).sum() if self.model.kls else out.loss.new_zeros(())
            self.model.kls.clear()
            out.parts["kl"] = kl.detach()
            return ModelOutput(loss=out.loss + beta * kl, parts=out.parts)

    adv = AdversarialTerm(model.identities, model.resolution) if adversarial > 0 else None
    return VariationalSwapTrainer(model, FaceLoss("l1+dssim"), adversarial=adv, adversarial_weight=adversarial)


def facesets(out_dir: Path, a: Path | None, b: Path | None, every: int, root: Path = FACES) -> tuple[Path, Path]:
    if a and b:
        return a, b
    from faceswap.extract import extract

    folders = []
    for clip in ("d6.mp4", "d10.mp4"):
        folder = out_dir / f"faces_{Path(clip).stem}"
        if not (folder / "alignments.json").is_file():
            extract(root / clip, folder, size=128, every=every, force=True, progress=False)
        folders.append(folder)
    return folders[0], folders[1]


def run(out_dir: Path, steps: int = 20, batch_size: int = 8, beta: float = 1e-4, adversarial: float = 0.0,
        faces_a: Path | None = None, faces_b: Path | None = None, every: int = 50, seed: int = 0,
        faces_root: Path = FACES) -> dict:
    from faceswap.train.data import SwapBatches, load_faces
    from faceswap.train.presets import model_config
    from faceswap.training import fit

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    a, b = facesets(out_dir, faces_a, faces_b, every, faces_root)
    torch.manual_seed(seed)
    model = VariationalSwap(SwapAutoEncoder(model_config("lightweight")))
    res = model.resolution
    fa, fb = load_faces(a, res), load_faces(b, res)
    trainer = make_trainer(model, beta, adversarial)
    batches = SwapBatches(fa, fb, batch_size, res, seed)
    state = fit(trainer, batches, steps=steps, lr=5e-4, device="cpu", amp=False, seed=seed, progress=False)
    model.eval()
    with torch.no_grad():
        x = fa.images[:4].permute(0, 3, 1, 2).float() / 255
        swapped, _ = model.swap(x, "b")
    first, last = state.history[0], state.history[-1]
    return {"faces": (len(fa), len(fb)), "steps": state.step, "first": first, "last": last,
            "swap_shape": tuple(swapped.shape), "swap_range": (swapped.min().item(), swapped.max().item()),
            "params": sum(p.numel() for p in model.parameters()), "seconds": time.time() - t0}


def report(res: dict) -> None:
    print(f"\nVariational-bottleneck face-swap variant ({res['params']:,} parameters), faces A/B: {res['faces']}")
    keys = [k for k in res["first"] if k != "step"]
    print(f"{'step':>6s} " + " ".join(f"{k:>9s}" for k in keys))
    for row in (res["first"], res["last"]):
        print(f"{int(row['step']):6d} " + " ".join(f"{row[k]:9.4f}" for k in keys))
    print(f"swap A->B on 4 faces: shape {res['swap_shape']}, range {res['swap_range'][0]:.3f}..{res['swap_range'][1]:.3f};"
          f" took {res['seconds']:.0f} s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", nargs="?", default="/tmp/faceswap-scripts/variant")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--adversarial", type=float, default=0.0)
    p.add_argument("--faces-a", type=Path)
    p.add_argument("--faces-b", type=Path)
    args = p.parse_args()
    torch.set_num_threads(2)
    report(run(Path(args.out_dir), steps=args.steps, adversarial=args.adversarial, faces_a=args.faces_a,
               faces_b=args.faces_b))
