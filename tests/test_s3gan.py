"""S3GAN: the few-labels data path (label_fraction), D's classifier head labelling the unlabelled reals
for the projection, the rotation losses on the last images of each batch, its capabilities, and a
learning test.

Learning test (seed 0, 16 px MNIST, first 5,000 training images, 2% labelled = 101 labels, G width 16,
D width 32, z 48, n_dis 1, lr_d 1e-3, batch 32, 400 steps, one thread): the classifier head labels the
unlabelled training images 9.9% right untrained and 57.0% after training (held-out 10.1% -> 55.4%);
112 s of training under load (other trainings on the machine's two cores), about half that alone.
(600 steps at lr_d 6e-4: 65.0%, held-out 63.0%.)
"""

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.api import read_run_config, train
from gankit.capabilities import measure
from gankit.capabilities.conditional import judged_fid
from gankit.capabilities.semi_supervised import inferred_label_acc
from gankit.data import ImageDataset, labeled_indices, load_mnist
from gankit.data.batches import BatchStream, DataSpec, HeldOut
from gankit.errors import GankitError
from gankit.evaluation import held_out
from gankit.models.base import Batch
from gankit.nn.biggan import quarter_turns


def tiny(**kw):
    torch.manual_seed(0)
    return gankit.create_model("s3gan", preset="tiny", **kw).train()


def batches(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 8, 8, generator=g) * 2 - 1
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def test_config_and_data_spec_say_how_many_labels():
    for bad in ({"label_fraction": 0.0}, {"label_fraction": 1.5}, {"rotated_batch_fraction": 0},
                {"rotation_weight_g": -1.0}):
        with pytest.raises(GankitError):
            gankit.create_model("s3gan", preset="tiny", **bad)
    spec = tiny().data_spec()
    assert spec.semi_supervised and spec.label_fraction == 0.1 and spec.labels_per_class == 0
    full = tiny(label_fraction=1.0).data_spec()
    assert full.needs_labels and not full.semi_supervised and full.num_classes == 10
    with pytest.raises(GankitError, match="not both"):
        DataSpec(1, 8, needs_labels=True, num_classes=10, labels_per_class=2, label_fraction=0.1)
    with pytest.raises(GankitError, match="label_fraction"):
        DataSpec(1, 8, label_fraction=-0.1)


def test_labeled_indices_by_fraction_take_that_share_of_every_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 3)
    idx = labeled_indices(labels, 0, seed=3, fraction=0.1)
    assert [int((labels[idx] == c).sum()) for c in range(3)] == [5, 3, 1]  # round(0.1 n), at least one
    assert torch.equal(idx, labeled_indices(labels, 0, seed=3, fraction=0.1)) and len(idx.unique()) == len(idx)
    assert not torch.equal(idx, labeled_indices(labels, 0, seed=4, fraction=0.1))
    assert torch.equal(labeled_indices(labels, 2, seed=3), labeled_indices(labels, 2, seed=3, fraction=0.0))


def test_the_stream_hides_the_labels_but_those_of_the_labelled_share():
    images, labels = load_mnist("train")
    data = ImageDataset(images[:400].clone(), labels[:400].clone(), "m")
    spec = DataSpec(1, 28, needs_labels=True, num_classes=10, label_fraction=0.05)
    stream = BatchStream(data, spec, batch_size=16, seed=0)
    batch = stream.next()
    assert batch.labels is None and batch.labeled_images.shape == (16, 1, 28, 28)
    idx = labeled_indices(data.labels, 0, 0, 0.05)
    per_class = [max(1, round(0.05 * int((data.labels == c).sum()))) for c in range(10)]  # 5% of each class
    assert stream.labeled.dataset.images.shape[0] == len(idx) == sum(per_class) == 21
    assert torch.equal(stream.labeled.dataset.labels, data.labels[idx])


def test_quarter_turns_and_the_rotated_share_of_a_batch():
    x = torch.arange(2 * 4 * 4, dtype=torch.float).view(2, 1, 4, 4)
    turned = quarter_turns(x)  # (6, 1, 4, 4)
    assert turned.shape == (6, 1, 4, 4)
    assert torch.equal(turned[0], torch.rot90(x[0], 1, (1, 2))) and torch.equal(turned[5], torch.rot90(x[1], 3, (1, 2)))
    assert torch.equal(torch.rot90(turned[2:4], 2, (2, 3)), x)  # 180 degrees twice is the identity
    model = tiny()
    assert model.rotated_count(32) == 4 and model.rotated_count(8) == 1  # the last B / 8, at least one
    assert tiny(rotated_batch_fraction=1).rotated_count(32) == 8


def record(model):
    """Record the inputs and outputs of D's score (a method, wrapped) and of its two heads (hooks)."""
    d, seen = model.discriminator, {"score": [], "classifier": [], "rotation": []}
    score = d.score

    def wrapped(*args):
        out = score(*args)
        seen["score"].append((args, out))
        return out

    d.score = wrapped
    for name in ("classifier", "rotation"):
        getattr(d, name).register_forward_hook(lambda m, args, out, name=name: seen[name].append((args, out)))
    return seen


def test_unlabelled_reals_are_judged_as_the_class_the_head_gives_them():
    model = tiny()
    x, y = batches()
    lab, lab_y = x.flip(0)[:6], y[:6]
    seen = record(model)
    logs = model.train_step(Batch(x, None, labeled_images=lab, labeled_labels=lab_y))
    (cls_in,), cls_out = seen["classifier"][0]  # one call in D's step: [labelled (6), unlabelled reals (8)]
    assert cls_in.shape[0] == 14 and len(seen["classifier"]) == 1
    (h_real, y_real), _ = seen["score"][0]
    assert torch.equal(y_real, cls_out[6:].argmax(1))  # the projection's class for each unlabelled real
    assert torch.allclose(logs["loss/class"], F.cross_entropy(cls_out[:6], lab_y))  # the head learns the labels
    (h_fake, y_fake), _ = seen["score"][1]
    (h_fake_g, y_fake_g), _ = seen["score"][2]  # G's step judges its fakes as the same asked-for classes
    assert torch.equal(y_fake, y_fake_g) and len(seen["score"]) == 3
    (rot_in,), rot_out = seen["rotation"][0]  # D's step: the last real upright plus its 3 turns
    assert rot_in.shape[0] == 4 and torch.equal(rot_in[0], h_real[-1])
    assert len(seen["rotation"]) == 2  # and G's step: its fakes' turns
    with pytest.raises(GankitError, match="labelled"):
        model.train_step(Batch(x, y))


def test_with_every_label_the_real_labels_are_projected_and_train_the_head():
    model = tiny(label_fraction=1.0)
    x, y = batches()
    seen = record(model)
    logs = model.train_step(Batch(x, y))
    (h_real, y_real), _ = seen["score"][0]
    assert torch.equal(y_real, y)
    (_,), cls_out = seen["classifier"][0]
    assert cls_out.shape == (8, 10) and torch.allclose(logs["loss/class"], F.cross_entropy(cls_out, y))
    with pytest.raises(GankitError, match="labelled batches"):
        model.train_step(Batch(x, None, labeled_images=x, labeled_labels=y))


def test_rotation_weights_reach_d_and_g():
    x, y = batches()

    def step(**weights):
        model = tiny(label_fraction=1.0, **weights)
        model.train_step(Batch(x, y))  # the same z and classes each time: tiny() seeds the RNG
        return (model.discriminator.rotation.parametrizations.weight.original.grad,
                model.generator.project.parametrizations.weight.original.grad)

    off, on = step(rotation_weight_d=0.0), step(rotation_weight_d=1.0)
    assert off[0].abs().sum() == 0 and on[0].abs().sum() > 0  # D's head learns only from D's rotation loss
    # D's step does not read G's weight, so G's gradients differ by the fakes' rotation term alone.
    plain, rotated = step(rotation_weight_g=0.0), step(rotation_weight_g=0.2)
    assert not torch.allclose(plain[1], rotated[1])
    assert torch.equal(plain[0], rotated[0])


def test_classify_reads_the_head_in_eval_mode():
    model = tiny()
    x, _ = batches()
    logits = model.classify(x)
    assert logits.shape == (8, 10) and torch.equal(logits, model.classify(x)) and model.training


class AlwaysZero:
    """A stand-in model whose classifier calls every image class 0."""

    device = torch.device("cpu")

    def classify(self, x):
        return F.one_hot(torch.zeros(len(x), dtype=torch.long), 10).float()


def test_inferred_label_acc_scores_only_the_unlabelled_training_images():
    images = torch.zeros(10, 1, 4, 4, dtype=torch.uint8)
    labels = torch.tensor([0] * 6 + [1] * 4)
    train_set, test_set = ImageDataset(images, labels), ImageDataset(images[:4], torch.tensor([0, 0, 0, 1]))
    result = inferred_label_acc(AlwaysZero(), HeldOut(train_set, test_set, labeled_indices=torch.arange(6, 10)))
    assert result["acc/inferred_unlabeled"] == 1.0 and result["label_share"] == 0.4  # the class-1 images were labelled
    assert result["acc/test"] == 0.75 and result["labels_used"] == 4
    everything = inferred_label_acc(AlwaysZero(), HeldOut(train_set, test_set))
    assert "acc/inferred_unlabeled" not in everything and everything["label_share"] == 1.0


def test_judged_fid_is_lower_for_real_images_than_for_an_untrained_g():
    images, labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    small = lambda im, lab: ImageDataset(im[:600].clone(), lab[:600].clone()).fit(8, 3)  # noqa: E731
    data = HeldOut(small(images, labels), small(test_images, test_labels), seed=0)
    result = judged_fid(tiny().eval(), data, baselines=True, n=500, judge_steps=30)
    reader = "lenet-mnist" if "fid[lenet-mnist]" in result else "judge"
    assert result[f"fid[{reader}]"] > 2 * result[f"baseline/fid_train_vs_test[{reader}]"] > 0


@pytest.mark.slow
def test_few_labels_teach_the_head_to_label_the_unlabelled_images(tmp_path):
    config = {"channels": 1, "image_size": 16, "g_width": 16, "d_width": 32, "latent_dim": 48, "embed_dim": 16,
              "n_dis": 1, "lr_d": 1e-3, "label_fraction": 0.02}
    torch.manual_seed(0)
    untrained = gankit.create_model("s3gan", **config)
    run = train("s3gan", "mnist", out=tmp_path, name="r", model_config=config, steps=400, seed=0, batch_size=32,
                max_images=5000, sample_every=10**6, checkpoint_every=10**6, log_every=100)
    model = gankit.load(run)
    data = held_out(read_run_config(run), model)
    assert len(data.labeled_indices) == 101
    before = measure(untrained, data, names=("inferred_label_acc",))
    after = measure(model, data, names=("inferred_label_acc",))
    print(f"s3gan: inferred labels {before['acc/inferred_unlabeled']:.3f} -> {after['acc/inferred_unlabeled']:.3f}, "
          f"test {before['acc/test']:.3f} -> {after['acc/test']:.3f}")
    assert after["acc/inferred_unlabeled"] > 0.4 and after["acc/inferred_unlabeled"] > before["acc/inferred_unlabeled"] + 0.25
    assert after["acc/test"] > 0.4
