"""gankit: the GAN family behind one tested API and CLI."""

from importlib.metadata import PackageNotFoundError, version

from gankit.errors import GankitError
from gankit.registry import create_model, list_models, register_model

try:
    __version__ = version("gankit")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+src"


def load(run, device="cpu"):
    """Rebuild a trained model from a run folder; see `gankit.api.load`."""
    from gankit.api import load as _load

    return _load(run, device)


def train(model, data="mnist", **kwargs):
    """Train a registered model; see `gankit.api.train`."""
    from gankit.api import train as _train

    return _train(model, data, **kwargs)


def classify(model_or_run, images, **kwargs):
    """Class logits of uint8 images; see `gankit.inference.classify`."""
    from gankit.inference import classify as _classify

    return _classify(model_or_run, images, **kwargs)


def encode(model_or_run, images, **kwargs):
    """Codes of uint8 images; see `gankit.inference.encode`."""
    from gankit.inference import encode as _encode

    return _encode(model_or_run, images, **kwargs)


def translate(model_or_run, images, direction="AtoB", **kwargs):
    """uint8 images of any size into the other domain; see `gankit.inference.translate`."""
    from gankit.inference import translate as _translate

    return _translate(model_or_run, images, direction, **kwargs)


def inpaint(model_or_run, image, box=None, mask=None, **kwargs):
    """A uint8 image with its hole filled, context bit-exact; see `gankit.inference.inpaint`."""
    from gankit.inference import inpaint as _inpaint

    return _inpaint(model_or_run, image, box=box, mask=mask, **kwargs)


def upscale(model_or_run, image, tile=None, **kwargs):
    """A uint8 image super-resolved, tiled when large; see `gankit.inference.upscale`."""
    from gankit.inference import upscale as _upscale

    return _upscale(model_or_run, image, tile=tile, **kwargs)


__all__ = ["GankitError", "__version__", "classify", "create_model", "encode", "inpaint", "list_models", "load",
           "register_model", "train", "translate", "upscale"]
