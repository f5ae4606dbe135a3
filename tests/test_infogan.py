"""InfoGAN (arXiv 1606.03657): codes, traversals, the CLI's --traverse, and a learning test.

Learning test (`cpu` preset: the paper's nets narrowed, 28x28, batch 64, seed 0, 400 steps; one
thread, measured under load from other jobs on the 2-core machine): cluster_acc 0.100
(untrained) -> 0.473, q_cluster_acc/test 0.204 -> 0.371, in 62 s wall-clock (training plus
both capability measurements). Chance for a best one-to-one map of 10 codes is about 0.11;
the threshold 0.25 leaves margin for seed-to-seed spread (quick checks at 500 steps: 0.60,
0.46, 0.46 for seeds 0, 1, 2).
"""

import time

import pytest
import torch
from PIL import Image

import gankit
import gankit.models.infogan  # noqa: F401  (registers the variant until models/__init__ imports it)
from gankit.api import train
from gankit.capabilities import measure
from gankit.cli import main
from gankit.data import ImageDataset
from gankit.errors import GankitError
from gankit.evaluation import measure_capability
from gankit.models.base import Batch, HeldOut

LEARN_STEPS = 400
LEARN_THRESHOLD = 0.25


def tiny(**overrides):
    torch.manual_seed(0)
    model = gankit.create_model("infogan", preset="tiny", **overrides)
    model.train_step(Batch(torch.rand(8, 1, 8, 8) * 2 - 1))  # BatchNorm statistics move off their init
    return model.eval()


def test_labels_set_the_categorical_code_and_the_same_seed_repeats():
    model = tiny()
    codes = torch.tensor([0, 3, 3, 9])
    a = model.sample(4, labels=codes, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, labels=codes, generator=torch.Generator().manual_seed(1))
    c = model.sample(4, labels=codes.roll(1), generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, c), "the categorical code changes G's input"
    z, cat, cont = model.sample_codes(1000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (1000, 8) and set(cat.tolist()) == set(range(10))
    assert cont.shape == (1000, 2) and -1 <= cont.min() < -0.9 and 0.9 < cont.max() <= 1


def test_train_step_logs_the_information_term():
    model = gankit.create_model("infogan", preset="tiny").train()
    logs = model.train_step(Batch(torch.rand(8, 1, 8, 8) * 2 - 1))
    assert {"loss/d", "loss/g", "loss/q", "loss/q_cat", "loss/q_cont", "acc/q_cat"} <= logs.keys()
    # L_I = lambda_cat * CE + lambda_cont * NLL, both nonnegative up to the Gaussian's constant.
    expected = model.config.lambda_cat * logs["loss/q_cat"] + model.config.lambda_cont * logs["loss/q_cont"]
    assert torch.allclose(logs["loss/q"], expected)


def test_traversal_rows_are_code_values_and_columns_sweep_one_continuous_code():
    model = tiny()
    grids = model.traversals(generator=torch.Generator().manual_seed(0))
    assert set(grids) == {"c1", "c2"}
    for images, nrow in grids.values():
        assert nrow == 10 and images.shape == (100, 1, 8, 8) and images.min() >= -1 and images.max() <= 1
    # Column 5 of c1 sets (c1, c2) = (0.22, 0), of c2 (0, 0.22): the two codes act differently.
    c1, c2 = grids["c1"][0].view(10, 10, 1, 8, 8), grids["c2"][0].view(10, 10, 1, 8, 8)
    assert not torch.equal(c1[:, 0], c1[:, -1]), "the sweep changes the images"
    assert not torch.equal(c1[0], c1[1]), "rows differ by categorical value"
    assert torch.equal(grids["c1"][0], model.traversals(generator=torch.Generator().manual_seed(0))["c1"][0])
    assert not torch.equal(c1[:, 5], c2[:, 5])


def test_bad_codes_and_configs_are_clear_errors():
    model = tiny()
    with pytest.raises(GankitError, match="categorical code values are 0..9"):
        model.sample(2, labels=torch.tensor([0, 10]))
    with pytest.raises(GankitError, match="3 integer categorical code values"):
        model.sample(3, labels=torch.tensor([1, 2]))
    with pytest.raises(GankitError, match="integer"):
        model.sample(2, labels=torch.tensor([0.5, 1.0]))
    with pytest.raises(GankitError, match="no continuous codes"):
        tiny(continuous_dim=0).traversals()
    with pytest.raises(GankitError, match="num_categories must be at least 2"):
        gankit.create_model("infogan", preset="tiny", num_categories=1)
    with pytest.raises(GankitError, match="multiple of 4"):
        gankit.create_model("infogan", image_size=30)  # the paper nets halve the size twice
    with pytest.raises(GankitError, match="not supported"):
        gankit.create_model("infogan", arch="dcgan", image_size=28)  # the DCGAN nets need a power of two


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_other_archs_still_train(arch):
    model = gankit.create_model("infogan", preset="tiny", arch=arch).train()
    logs = model.train_step(Batch(torch.rand(8, 1, 8, 8) * 2 - 1))
    assert all(torch.isfinite(v) for v in logs.values())
    assert model.sample(3).shape == (3, 1, 8, 8)


def test_capability_reports_cluster_accuracies_and_baselines():
    model = tiny()
    g = torch.Generator().manual_seed(0)
    data = ImageDataset(torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=g),
                        torch.arange(40) % 10, "random")
    out = measure(model, HeldOut(train=data, test=data), baselines=True, per_value=20)
    assert set(out) == {"cluster_acc", "q_cluster_acc/test", "baseline/kmeans_pixels_acc/test",
                        "baseline/cluster_acc_chance"}
    assert all(0.1 <= v <= 1 for v in out.values()), out  # a best one-to-one map is never below 1/K


def test_cli_sample_traverse_writes_both_grids(tmp_path, capsys):
    run = train("infogan", "mnist", out=tmp_path, name="r", preset="tiny", max_images=256, steps=3, batch_size=32,
                sample_every=10**6, checkpoint_every=10**6, log_every=1, progress="off")
    assert main(["sample", str(run), "--traverse", "--out", str(tmp_path / "trav")]) == 0
    for name in ("c1", "c2"):
        assert Image.open(tmp_path / "trav" / f"traverse-{name}.png").size == (10 * 10 + 2, 10 * 10 + 2)  # 10x10 of 8px
    assert main(["sample", str(run), "--traverse", "--out", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t-c1.png").is_file() and (tmp_path / "t-c2.png").is_file()
    assert main(["sample", str(run), "--traverse", "--out", str(tmp_path / "t.npz")]) == 2
    assert "--traverse writes PNG grids" in capsys.readouterr().err
    # Plain sampling: one categorical value per column of the grid.
    assert main(["sample", str(run), "-n", "20", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size == (10 * 10 + 2, 2 * 10 + 2)


@pytest.mark.slow
def test_infogan_categorical_code_learns_digit_classes(tmp_path):
    start = time.perf_counter()
    run = train("infogan", "mnist", out=tmp_path, name="r", preset="cpu", steps=LEARN_STEPS, seed=0,
                sample_every=10**6, checkpoint_every=10**6, log_every=100, progress="off")
    model = gankit.load(run)
    info = gankit.api.read_run_config(run)
    trained = measure_capability(model, info)
    torch.manual_seed(0)
    untrained = measure_capability(gankit.create_model("infogan", preset="cpu"), info)
    print(f"infogan: {time.perf_counter() - start:.0f} s, cluster_acc {untrained['cluster_acc']:.3f} -> {trained['cluster_acc']:.3f}, "
          f"q_cluster_acc/test {untrained['q_cluster_acc/test']:.3f} -> {trained['q_cluster_acc/test']:.3f}")
    assert trained["cluster_acc"] >= LEARN_THRESHOLD, trained
    assert trained["cluster_acc"] > untrained["cluster_acc"] + 0.1, (untrained, trained)
