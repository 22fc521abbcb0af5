"""Reproduce Mitchell's 8-3-8 encoder (Machine Learning, 1997, section 4.6.4, figure 4.7).

Eight one-hot inputs pass through three sigmoid hidden units to eight sigmoid
outputs that must reproduce the input. Backpropagation discovers that three
units are enough by inventing (close to) a 3-bit binary code: the rounded
hidden activations of the eight inputs are eight distinct codes.

Built with the library: ``dense_autoencoder([8, 3, 8], "sigmoid", "sigmoid",
recon_loss="bce")`` trained by ``faceswap.training.fit`` (Adam, full batch),
stopping once every input is reproduced (the hot output is the only one above
0.5) and the rounded codes are distinct.

    python scripts/reproduce_mitchell.py [--seed 0] [--max-steps 20000]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch


@dataclass
class MitchellResult:
    steps: int
    learned: bool          # every input reproduced (argmax right, > 0.5 only at the hot unit)
    distinct_codes: bool   # the 8 rounded hidden codes are all different
    hidden: torch.Tensor   # (8, 3) hidden activations
    outputs: torch.Tensor  # (8, 8) outputs

    def table(self) -> str:
        """Inputs / hidden values / outputs, as in Mitchell's figure 4.7."""
        lines = [f"{'Input':>10}    {'Hidden values':^17}    Output"]
        for i in range(8):
            x = "".join("1" if j == i else "0" for j in range(8))
            h = " ".join(f"{v:.2f}" for v in self.hidden[i].tolist())
            y = "".join("1" if v > 0.5 else "0" for v in self.outputs[i].tolist())
            code = "".join(str(int(round(v))) for v in self.hidden[i].tolist())
            lines.append(f"{x:>10} -> {h:^17} -> {y}   code {code}   hot output {self.outputs[i, i]:.2f}")
        return "\n".join(lines)


def check(hidden: torch.Tensor, outputs: torch.Tensor) -> tuple[bool, bool]:
    eye = torch.eye(8, dtype=torch.bool)
    learned = bool(((outputs > 0.5) == eye).all()) and bool((outputs.argmax(1) == torch.arange(8)).all())
    codes = {tuple(row) for row in hidden.round().int().tolist()}
    return learned, len(codes) == 8


def run(seed: int = 0, max_steps: int = 20000, lr: float = 0.05, check_every: int = 100, progress: bool = False) -> MitchellResult:
    """Train until the 8-3-8 task is learned with 8 distinct codes (or ``max_steps``)."""
    from faceswap.models import dense_autoencoder
    from faceswap.training import Callback, fit

    torch.manual_seed(seed)
    model = dense_autoencoder([8, 3, 8], "sigmoid", "sigmoid", recon_loss="bce")
    x = torch.eye(8)

    def done(state) -> None:
        with torch.no_grad():
            out = model(x)
        state.stop = all(check(out.code, out.recon))

    state = fit(model, lambda step: x, steps=max_steps, lr=lr, seed=seed, device="cpu", progress=progress,
                callbacks=[Callback(check_every, done)], desc="8-3-8")
    model.eval()
    with torch.no_grad():
        out = model(x)
    learned, distinct = check(out.code, out.recon)
    return MitchellResult(state.step, learned, distinct, out.code, out.recon)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=20000)
    args = ap.parse_args()
    torch.set_num_threads(1)  # an 8x8 problem: threads only add overhead
    r = run(args.seed, args.max_steps, progress=True)
    print(f"8-3-8 encoder, seed {args.seed}: {r.steps} full-batch Adam steps")
    print(r.table())
    print(f"learned: {r.learned}; distinct 3-bit codes: {r.distinct_codes}")


if __name__ == "__main__":
    main()
