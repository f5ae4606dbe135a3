"""Task verbs as protocols, and the Python API that does what the CLI's verbs do (gankit.translate, ...)."""

import pytest
import torch

import gankit
from gankit.data.masks import Box
from gankit.errors import GankitError
from gankit.models.base import GANModel
from gankit.models.verbs import has_verb, task_of, verbs_of


def tiny(name: str) -> GANModel:
    torch.manual_seed(0)
    return gankit.create_model(name, preset="tiny").eval()


def test_verbs_follow_from_the_methods_a_variant_defines():
    assert verbs_of(GANModel) == [] and task_of(GANModel) == "generate"
    cls = {name: type(tiny(name)) for name in ("gan", "aae", "pixelda", "srgan", "ccgan", "cyclegan", "infogan")}
    assert verbs_of(cls["aae"]) == ["classify", "encode"] and cls["aae"].task == "generate"
    assert cls["pixelda"].task == "adapt" and cls["cyclegan"].task == "translate"
    assert cls["srgan"].task == "enhance" and cls["ccgan"].task == "enhance" and has_verb(cls["ccgan"], "classify")
    assert verbs_of(cls["infogan"]) == ["traverse"] and verbs_of(cls["gan"]) == ["interpolate"]
    assert verbs_of(type(tiny("stylegan"))) == ["truncate", "mix", "interpolate"]
    assert has_verb(tiny("cyclegan"), "translate") and not has_verb(tiny("gan"), "translate")


@pytest.mark.parametrize("verb, call", [
    ("classify", lambda m: gankit.classify(m, torch.zeros(1, 1, 8, 8, dtype=torch.uint8))),
    ("encode", lambda m: gankit.encode(m, torch.zeros(1, 1, 8, 8, dtype=torch.uint8))),
    ("translate", lambda m: gankit.translate(m, [torch.zeros(1, 8, 8, dtype=torch.uint8)])),
    ("inpaint", lambda m: gankit.inpaint(m, torch.zeros(1, 8, 8, dtype=torch.uint8))),
    ("upscale", lambda m: gankit.upscale(m, torch.zeros(1, 8, 8, dtype=torch.uint8))),
])
def test_a_missing_verb_names_the_variants_that_have_it(verb, call):
    with pytest.raises(GankitError, match="variants that do: ") as info:
        call(tiny("gan"))
    assert str(info.value).startswith("gan ") and "\n" not in str(info.value)


def test_translate_takes_any_size_and_matches_the_network_where_no_padding_is_needed():
    model = tiny("pix2pix")
    multiple = model.size_multiple()
    gen = torch.Generator().manual_seed(1)
    odd = torch.randint(0, 256, (1, 2 * multiple + 3, multiple + 1), generator=gen, dtype=torch.uint8)
    even = torch.randint(0, 256, (1, 2 * multiple, multiple), generator=gen, dtype=torch.uint8)
    out = gankit.translate(model, [odd, even, even.clone()], batch_size=2)
    assert [tuple(o.shape) for o in out] == [(3, 2 * multiple + 3, multiple + 1)] + [(3, 2 * multiple, multiple)] * 2
    assert all(o.dtype == torch.uint8 for o in out) and torch.equal(out[1], out[2])
    with torch.no_grad():
        direct = model.translate(even[None].float() / 127.5 - 1)[0]
    assert (out[1].int() - ((direct.clamp(-1, 1) + 1) * 127.5).round().int()).abs().max() <= 1
    with pytest.raises(GankitError, match="channel"):
        gankit.translate(model, [torch.zeros(3, 8, 8, dtype=torch.uint8)])


def test_inpaint_fills_only_the_hole_and_keeps_the_context_bit_exact():
    model = tiny("context_encoder")
    size = model.data_spec().image_size
    image = torch.randint(0, 256, (1, size + 5, size + 3), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    filled = gankit.inpaint(model, image)  # the trained hole, centred
    trained = model.hole_box()
    y0, x0 = (image.shape[1] - trained.h) // 2, (image.shape[2] - trained.w) // 2
    outside = torch.ones_like(image, dtype=torch.bool)
    outside[:, y0 : y0 + trained.h, x0 : x0 + trained.w] = False
    assert torch.equal(filled[outside], image[outside]) and not torch.equal(filled, image)
    boxed = gankit.inpaint(model, image, box=Box(0, 0, 2, 2))
    assert torch.equal(boxed[:, 2:], image[:, 2:]) and torch.equal(boxed[:, :, 2:], image[:, :, 2:])
    mask = torch.zeros(image.shape[1:])
    mask[:2, :2] = 1
    assert torch.equal(gankit.inpaint(model, image, mask=mask), boxed)  # the same hole, given as a mask
    with pytest.raises(GankitError, match="not both"):
        gankit.inpaint(model, image, box=Box(0, 0, 2, 2), mask=mask)
    with pytest.raises(GankitError, match="smaller than the model's"):
        gankit.inpaint(model, image[:, : size - 1])


def test_upscale_returns_uint8_at_scale_times_the_size():
    model = tiny("srgan")
    scale = model.config.scale
    image = torch.randint(0, 256, (1, 5, 7), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    out = gankit.upscale(model, image)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (1, 5 * scale, 7 * scale)
    with pytest.raises(GankitError, match="tile must be at least 4"):
        gankit.upscale(model, image, tile=2)
