"""Embedded translation / adaptation tasks: deterministic, cached, the documented construction."""

import torch

from gankit.data.tasks import blend_with_patches, edges2digits, mnist_m, sobel_edges


def test_sobel_edges_outline_a_square():
    img = torch.zeros(1, 1, 12, 12, dtype=torch.uint8)
    img[..., 3:9, 3:9] = 255
    edges = sobel_edges(img)
    assert set(edges.unique().tolist()) <= {0, 255}
    assert edges[0, 0, 5, 2] == 255 and edges[0, 0, 5, 8] == 255  # on the left and right borders
    assert edges[0, 0, 6, 6] == 0 and edges[0, 0, 0, 0] == 0  # flat inside and outside


def test_edges2digits_pairs_each_digit_with_its_edges():
    a, b = edges2digits("test")
    assert a.images.shape == b.images.shape == (10_000, 1, 28, 28)
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a.images[:5], sobel_edges(b.images[:5]))


def test_mnist_m_is_the_absolute_difference_with_photo_patches_and_is_cached():
    ds = mnist_m("test")
    assert ds.images.shape == (10_000, 3, 28, 28) and ds.images.dtype == torch.uint8 and len(ds.labels) == 10_000
    again = mnist_m("test")  # from the cache
    assert torch.equal(ds.images, again.images)
    digits = edges2digits("test")[1].images[:8]
    assert torch.equal(blend_with_patches(digits, 2)[:8], ds.images[:8])  # same seed, same images
    # A white stroke (255) over any patch value p gives 255 - p: strokes invert the photo's colours.
    assert ds.images.float().std() > 30, "colourful, not blank"
