"""Every variant registers itself on import: adding one is a file plus one line here."""

from gankit.models import dcgan, gan  # noqa: F401
from gankit.models.base import Batch, DataSpec, GANModel

__all__ = ["Batch", "DataSpec", "GANModel"]
