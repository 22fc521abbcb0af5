"""SwapTrainer: the face-swap objective as one module for faceswap.training.fit.

One forward pass takes a batch of A and a batch of B (warped inputs, clean
targets), runs each through the shared encoder and its own decoder, and
returns a ModelOutput whose loss is the sum of both reconstruction losses
(plus the mask and adversarial terms when enabled). The generic fit loop then
only calls loss.backward().
"""

from __future__ import annotations

from pathlib import Path

import safetensors.torch
import torch
from torch import nn

from faceswap.errors import FaceswapError
from faceswap.fileio import atomic_path
from faceswap.models.autoencoder import ModelOutput
from faceswap.train.losses import FaceLoss, mask_loss


class SwapTrainer(nn.Module):
    """forward(a_in, a_target, b_in, b_target) -> ModelOutput(loss = loss_a + loss_b).

    a_in/b_in: (B, 3, R, R) warped faces; a_target/b_target: (B, 3 [+1 mask], R, R)
    clean faces in [0, 1]. Each identity's decoder reconstructs its own faces
    through the shared encoder. parts: loss_a, loss_b (reconstruction), and
    mask_a/mask_b with a mask channel, gan_g_*/gan_d_* with the adversarial term.
    """

    def __init__(self, model: nn.Module, loss: FaceLoss, mask_weight: float = 1.0, channels_last: bool = False,
                 adversarial: nn.Module | None = None, adversarial_weight: float = 0.0):
        super().__init__()
        self.model, self.loss_fn, self.mask_weight = model, loss, mask_weight
        self.channels_last = channels_last
        self.adversarial, self.adversarial_weight = adversarial, adversarial_weight

    def _side(self, x: torch.Tensor, target: torch.Tensor, identity: str):
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        face, mask = self.model.decode(self.model.encode(x), identity)
        rec, _ = self.loss_fn(face, target[:, :3])
        extra = {}
        if mask is not None and target.shape[1] > 3:
            extra["mask"] = mask_loss(mask, target[:, 3:4])
        if self.adversarial is not None:
            extra["gan_g"], extra["gan_d"] = self.adversarial(face, target[:, :3], identity)
        return rec, extra

    def forward(self, a_in, a_target, b_in, b_target):
        ia, ib = self.model.identities[:2]
        loss_a, extra_a = self._side(a_in, a_target, ia)
        loss_b, extra_b = self._side(b_in, b_target, ib)
        total = loss_a + loss_b
        parts = {"loss_a": loss_a.detach(), "loss_b": loss_b.detach()}
        weight = {"mask": self.mask_weight, "gan_g": self.adversarial_weight, "gan_d": 1.0}
        for key in extra_a:
            total = total + weight[key] * (extra_a[key] + extra_b[key])
            parts[f"{key}_a"], parts[f"{key}_b"] = extra_a[key].detach(), extra_b[key].detach()
        return ModelOutput(loss=total, parts=parts)


DISCRIMINATOR_FILE = "discriminator.safetensors"


def save_discriminators(adv: nn.Module, model_dir: Path) -> None:

    with atomic_path(model_dir / DISCRIMINATOR_FILE) as tmp:
        safetensors.torch.save_file({k: v.detach().cpu().contiguous() for k, v in adv.state_dict().items()}, str(tmp))


def load_discriminators(adv: nn.Module, model_dir: Path) -> None:
    path = model_dir / DISCRIMINATOR_FILE
    if not path.is_file():
        return
    try:
        adv.load_state_dict(safetensors.torch.load_file(str(path)))
    except Exception as e:
        raise FaceswapError(f"{path}: corrupt or mismatched discriminator weights ({type(e).__name__}); delete it") from None
