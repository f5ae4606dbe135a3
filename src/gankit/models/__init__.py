"""Every variant registers itself on import: adding one is a file plus one line here."""

from gankit.models import began, bgan, dcgan, dragan, gan, lsgan, mmgan, nsgan, pix2pix, wgan, wgan_gp  # noqa: F401
from gankit.models.base import Batch, DataSpec, GANModel

__all__ = ["Batch", "DataSpec", "GANModel"]
