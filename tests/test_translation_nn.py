"""Shared translation networks and the engine's learning-rate decay."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.nn.translation import ImagePool, PatchDiscriminator, ResnetGenerator, UNetGenerator, unet_depth


def test_unet_maps_any_multiple_of_its_depth_and_uses_skips():
    net = UNetGenerator(1, 3, depth=unet_depth(32), width=8).eval()
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    assert net(torch.zeros(1, 1, 64, 96)).shape == (1, 3, 64, 96)  # fully convolutional
    with pytest.raises(GankitError, match="multiples of 32"):
        net(torch.zeros(1, 1, 40, 40))
    dropouts = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 3, "dropout (G's noise) in the three innermost decoder layers"


def test_resnet_generator_keeps_the_size():
    net = ResnetGenerator(3, 1, width=8, blocks=2)
    assert net(torch.zeros(2, 3, 20, 28)).shape == (2, 1, 20, 28)


def test_patchgan_receptive_fields_match_the_paper():
    assert PatchDiscriminator.receptive_field(3) == 70
    assert PatchDiscriminator.receptive_field(2) == 34 and PatchDiscriminator.receptive_field(1) == 16
    d = PatchDiscriminator(4, width=8, layers=3)
    assert d(torch.zeros(2, 4, 256, 256)).shape == (2, 1, 30, 30)  # the paper's 30x30 patch grid
    # Empirical receptive field: a change at one pixel reaches at most 70 pixels' worth of outputs.
    x = torch.zeros(1, 4, 128, 128, requires_grad=True)
    d.eval()(x)[0, 0, 7, 7].backward()
    rows = x.grad.abs().sum((0, 1, 3)).nonzero()
    assert rows.max() - rows.min() + 1 <= 70


def test_image_pool_fills_then_mixes_history_and_round_trips():
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4
    new = (100 + torch.arange(64.0)).view(64, 1, 1, 1).expand(64, 1, 2, 2)
    out = pool.query(new)
    from_history = (out != new).any((1, 2, 3)).sum()
    assert 16 < from_history < 48, "about half the returned images come from the history"
    clone = ImagePool(4, (1, 2, 2))
    clone.load_state_dict(pool.state_dict())
    assert torch.equal(clone.images, pool.images) and int(clone.count) == 4
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(first), first)


def test_lr_decay_is_constant_then_linear_and_survives_resume(tmp_path):
    from gankit.api import resume, train
    from gankit.engine.checkpoint import latest_checkpoint, load_train_state

    def lrs(run):
        groups = load_train_state(latest_checkpoint(run))["optimizers"]["generator"]["param_groups"]
        return groups[0]["initial_lr"], groups[0]["lr"]

    run = train("gan", "mnist", out=tmp_path, name="r", preset="tiny", steps=10, batch_size=32, max_images=64,
                lr_decay_from=0.5, log_every=1, checkpoint_every=4, sample_every=100)
    initial, last = lrs(run)
    # The last step is step 9 of 10, decaying from step 5: factor 1 - 4/5 = 0.2.
    assert initial == pytest.approx(2e-4) and last == pytest.approx(0.2 * 2e-4)
    resume(run, steps=20)  # the schedule follows the new total: step 19 of 20, from 10: 0.1
    assert lrs(run)[1] == pytest.approx(0.1 * 2e-4)
