"""faceswap.models: a small PyTorch autoencoder library (pure torch; no file or video I/O but
its own save/load, no face knowledge beyond the swap model).

Every model's ``forward`` returns a ``ModelOutput`` with the ``loss`` and its named ``parts``;
losses follow one reduction convention (sum over data dimensions, mean over the batch; see
``autoencoder.reduce_loss``). Models are saved as ``config.json`` + ``model.safetensors``.
"""

from faceswap.models.serialization import (
    ModelError,
    load_model,
    read_model_config,
    register_model,
    registered_models,
    save_model,
)
from faceswap.models.autoencoder import (
    AutoEncoder,
    ConvAutoEncoder,
    DenseAutoEncoder,
    ModelOutput,
    conv_autoencoder,
    dense_autoencoder,
    reduce_loss,
)
from faceswap.models.refine import DetailConfig, DetailUpsampler
from faceswap.models.swap import SwapAutoEncoder, SwapConfig

__all__ = [
    "AutoEncoder",
    "DetailConfig",
    "DetailUpsampler",
    "ConvAutoEncoder",
    "DenseAutoEncoder",
    "ModelError",
    "ModelOutput",
    "SwapAutoEncoder",
    "SwapConfig",
    "conv_autoencoder",
    "dense_autoencoder",
    "load_model",
    "read_model_config",
    "reduce_loss",
    "register_model",
    "registered_models",
    "save_model",
]

# ---- model families: add imports and __all__ entries below this line
from faceswap.models.likelihoods import BernoulliLikelihood, CategoricalLikelihood, GaussianLikelihood, get_likelihood
from faceswap.models.sparse import SparseAutoEncoder
from faceswap.models.denoising import DenoisingAutoEncoder, GaussianNoise, MaskingNoise, SaltAndPepper
from faceswap.models.vae import VAE
from faceswap.models.gan import GAN, GANTrainer, adversarial_loss, discriminator_loss
from faceswap.models.occluder import Occluder, OccluderConfig

__all__ += [
    "BernoulliLikelihood", "CategoricalLikelihood", "GaussianLikelihood", "get_likelihood",
    "SparseAutoEncoder",
    "DenoisingAutoEncoder", "GaussianNoise", "MaskingNoise", "SaltAndPepper",
    "VAE",
    "GAN", "GANTrainer", "adversarial_loss", "discriminator_loss",
    "Occluder", "OccluderConfig",
]
