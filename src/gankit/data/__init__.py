"""Datasets: embedded MNIST, torchvision layouts, image folders; batches by tensor indexing."""

from gankit.data.core import (
    BatchSampler,
    ImageDataset,
    fit_images,
    labeled_indices,
    quantize,
    to_signed_unit,
    to_uint8,
    to_unit_range,
)
from gankit.data.folder import load_folder
from gankit.data.mnist import load_mnist
from gankit.data.sources import NAMED, load_data

__all__ = [
    "NAMED",
    "BatchSampler",
    "ImageDataset",
    "fit_images",
    "labeled_indices",
    "load_data",
    "load_folder",
    "load_mnist",
    "quantize",
    "to_signed_unit",
    "to_uint8",
    "to_unit_range",
]
