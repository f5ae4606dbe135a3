"""Building blocks shared by variants (no variant names here)."""

from gankit.nn.autoencoder import ConvAutoEncoder, MLPAutoEncoder
from gankit.nn.dcgan import DCGANDiscriminator, DCGANGenerator, check_dcgan_size
from gankit.nn.generators import build_generator
from gankit.nn.init import dcgan_init
from gankit.nn.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "ConvAutoEncoder",
    "MLPAutoEncoder",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "build_generator",
    "check_dcgan_size",
    "dcgan_init",
]
