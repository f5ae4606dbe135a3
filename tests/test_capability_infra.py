"""The shared pieces behind capability proofs: probes, the semi-supervised labelled stream,
reading input images, and the CLI verbs' errors on variants without the capability."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import Config
from gankit.data import ImageDataset, labeled_indices
from gankit.data.files import read_inputs
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.metrics import probes
from gankit.models.base import Batch, DataSpec, GANModel


def test_best_mapping_accuracy_undoes_a_permutation():
    labels = torch.arange(1000) % 10
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    clusters = perm[labels]
    acc, mapping = probes.best_mapping_accuracy(clusters, labels)
    assert acc == 1.0 and all(mapping[int(perm[c])] == c for c in range(10))
    noisy = clusters.clone()
    noisy[:100] = (noisy[:100] + 1) % 10  # 10% moved to a wrong cluster
    assert probes.best_mapping_accuracy(noisy, labels)[0] == pytest.approx(0.9)


def test_knn_separates_clusters_and_is_chance_on_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(2000) % 4
    centres = torch.randn(4, 16, generator=g) * 10
    x = centres[y] + torch.randn(2000, 16, generator=g)
    assert probes.knn_accuracy(x[:1000], y[:1000], x[1000:], y[1000:]) > 0.99
    noise = torch.randn(2000, 16, generator=g)
    assert abs(probes.knn_accuracy(noise[:1000], y[:1000], noise[1000:], y[1000:]) - 0.25) < 0.06


def test_mmd_is_near_zero_for_one_distribution_and_large_for_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 8, generator=g), torch.randn(500, 8, generator=g)
    same = probes.mmd_rbf(a, b)
    shifted = probes.mmd_rbf(a, b + 1.0)
    assert abs(same) < 0.01 and shifted > 20 * max(abs(same), 1e-4)


def test_random_shift_moves_content_without_changing_it():
    x = -torch.ones(3, 1, 8, 8)
    x[:, :, 3:5, 3:5] = 1.0
    y = probes.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and (y == 1).sum() == (x == 1).sum()


def test_random_affine_is_the_identity_at_zero_and_keeps_the_background():
    x = -torch.ones(4, 1, 12, 12)
    x[:, :, 4:8, 5:7] = 1.0
    assert torch.allclose(probes.random_affine(x, 0.0, 0.0, 0.0), x, atol=1e-5)
    blank = probes.random_affine(-torch.ones(4, 1, 12, 12), 10.0, 0.1, 2.0, torch.Generator().manual_seed(0))
    assert torch.allclose(blank, -torch.ones_like(blank), atol=1e-5), "the fill is the -1 background, not 0"
    y = probes.random_affine(x, 10.0, 0.1, 2.0, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= -1 - 1e-5 and y.max() <= 1 + 1e-5
    assert (y[:, :, 0, :] == -1).all(), "content moves by at most a few pixels; the border stays background"
    assert not torch.allclose(y, x, atol=1e-3), "it does transform"
    mass = (y + 1).sum((1, 2, 3)) / (x + 1).sum((1, 2, 3))
    assert ((mass > 0.75) & (mass < 1.3)).all(), "rotation and a 10% scale keep the digit's ink"


def test_labeled_indices_take_n_per_class_reproducibly():
    labels = torch.arange(300) % 3
    idx = labeled_indices(labels, 5, seed=1)
    assert len(idx) == 15 and torch.bincount(labels[idx]).tolist() == [5, 5, 5]
    assert torch.equal(idx, labeled_indices(labels, 5, seed=1))
    assert not torch.equal(idx, labeled_indices(labels, 5, seed=2))
    with pytest.raises(GankitError, match="class 0 has only 100 images"):
        labeled_indices(labels, 101, seed=0)


@dataclass
class RecorderConfig(Config):
    labels_per_class: int = 2


class LabelRecorder(GANModel):
    """Takes one SGD step on whatever labelled data it is given, and remembers what it saw."""

    name = "label-recorder"
    config_class = RecorderConfig

    def __init__(self, config: RecorderConfig) -> None:
        super().__init__(config)
        self.generator = torch.nn.Linear(16, 3)
        self.optimizers = {"generator": torch.optim.SGD(self.generator.parameters(), 0.1)}
        self.seen: list[torch.Tensor] = []

    def data_spec(self) -> DataSpec:
        return DataSpec(1, 4, needs_labels=True, num_classes=3, labels_per_class=self.config.labels_per_class)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        assert batch.labels is None, "semi-supervised models must not receive the main batch's labels"
        x, y = batch.labeled_images, batch.labeled_labels
        self.seen.append(x.flatten(1).sum(1))
        loss = torch.nn.functional.cross_entropy(self.generator(x.flatten(1)), y)
        self.optimize(loss, "generator")
        return {"loss/c": loss.detach()}

    def sample(self, n, labels=None, generator=None):
        return torch.zeros(n, 1, 4, 4)


def _dataset():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 1, 4, 4), dtype=torch.uint8, generator=g)
    return ImageDataset(images, torch.arange(60) % 3, "toy")


def test_semi_supervised_stream_gives_only_the_chosen_labelled_images(tmp_path):
    ds = _dataset()
    model = LabelRecorder(RecorderConfig())
    config = TrainConfig(batch_size=4, steps=5, seed=3, sample_every=100, checkpoint_every=100, log_every=1, grid_size=4)
    Trainer(model, ds, config, tmp_path / "run").fit()
    chosen = labeled_indices(ds.labels, 2, seed=3)
    allowed = set((ds.images[chosen].float() / 127.5 - 1).flatten(1).sum(1).tolist())
    seen = torch.cat(model.seen).tolist()
    assert len(seen) == 5 * 4 and all(any(abs(s - a) < 1e-4 for a in allowed) for s in seen)


def test_semi_supervised_stream_resumes_exactly(tmp_path):
    config = dict(batch_size=4, seed=3, sample_every=100, checkpoint_every=3, log_every=1, grid_size=4)
    torch.manual_seed(0)  # the same initial weights for both runs
    straight = LabelRecorder(RecorderConfig())
    Trainer(straight, _dataset(), TrainConfig(steps=6, **config), tmp_path / "a").fit()
    torch.manual_seed(0)
    first = LabelRecorder(RecorderConfig())
    Trainer(first, _dataset(), TrainConfig(steps=3, **config), tmp_path / "b").fit()
    second = LabelRecorder(RecorderConfig())
    Trainer(second, _dataset(), TrainConfig(steps=6, **config), tmp_path / "b", resume=True).fit()
    assert torch.equal(torch.cat(straight.seen[3:]), torch.cat(second.seen))
    for a, b in zip(straight.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_read_inputs_file_folder_npz_and_bad_files(tmp_path):
    for digit in (3, 7):
        (tmp_path / "set" / str(digit)).mkdir(parents=True)
        Image.fromarray(np.full((20, 20), 30 * digit, np.uint8)).save(tmp_path / "set" / str(digit) / "a.png")
    inputs = read_inputs(tmp_path / "set", 8, 1)
    assert inputs.images.shape == (2, 1, 8, 8) and inputs.labels.tolist() == [3, 7]
    assert inputs.names == ["3/a.png", "7/a.png"]
    one = read_inputs(tmp_path / "set" / "7" / "a.png", 8, 3)
    assert one.images.shape == (1, 3, 8, 8) and one.labels is None
    np.savez(tmp_path / "s.npz", images=np.zeros((4, 8, 8, 1), np.uint8), labels=np.arange(4))
    assert read_inputs(tmp_path / "s.npz", 8, 1).labels.tolist() == [0, 1, 2, 3]
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(GankitError, match="is not an image gankit can read"):
        read_inputs(tmp_path / "notes.png", 8, 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no images found"):
        read_inputs(tmp_path / "empty", 8, 1)
    (tmp_path / "set" / "7" / "broken.png").write_bytes(b"\x89PNG broken")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        assert len(read_inputs(tmp_path / "set", 8, 1).names) == 2


def test_capability_verbs_on_a_variant_without_them_are_clear_errors(tmp_path, capsys):
    assert main(["train", "gan", "--preset", "tiny", "--max-images", "64", "--steps", "2", "--batch-size", "32",
                 "--out", str(tmp_path), "--name", "r"]) == 0
    run = str(tmp_path / "r")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    cases = [
        (["classify", run, str(tmp_path / "x.png")], "gan has no `classify`; variants that do:"),
        (["encode", run, str(tmp_path / "x.png"), "--out", str(tmp_path / "c.npz")], "gan has no `encode`"),
        (["sample", run, "--label", "3", "--out", str(tmp_path / "g.png")], "gan does not generate by class"),
        (["sample", run, "--traverse", "--out", str(tmp_path / "t")], "gan has no latent codes to traverse"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("gankit: error:") and message in err and "\n" not in err, err
