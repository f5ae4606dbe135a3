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


__all__ = ["GankitError", "__version__", "create_model", "list_models", "load", "register_model", "train"]
