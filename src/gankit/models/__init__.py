"""Every variant registers itself on import: adding one is a file plus one line here."""

from gankit.models import (  # noqa: F401
    aae,
    acgan,
    began,
    bgan,
    bigan,
    biggan,
    ccgan,
    cgan,
    cogan,
    context_encoder,
    cyclegan,
    dcgan,
    discogan,
    dragan,
    dualgan,
    gan,
    infogan,
    lsgan,
    mmgan,
    nsgan,
    pix2pix,
    pixelda,
    progan,
    sagan,
    selfmod,
    sgan,
    sngan,
    srgan,
    stylegan,
    unetgan,
    wgan,
    wgan_gp,
)
from gankit.models.base import Batch, DataSpec, GANModel, Stage, StageProgress

__all__ = ["Batch", "DataSpec", "GANModel", "Stage", "StageProgress"]
