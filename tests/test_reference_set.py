"""`gankit eval`'s reference images come from the run's held-out split for every named source."""

import torch

import gankit
from gankit.data import load_data
from gankit.evaluation import reference_set


def test_a_photos_run_is_scored_against_held_out_photos_not_its_training_crops():
    model = gankit.create_model("gan", preset="tiny", image_size=16, channels=3)
    real, key = reference_set({"data": {"source": "photos"}}, model, "test")
    held_out = load_data("photos", 16, 3, split="test").images
    train = load_data("photos", 16, 3, split="train").images
    assert torch.equal(real, held_out)
    assert key[:2] == ("photos", "test")
    assert not any(torch.equal(real[:1], train[i : i + 1]) for i in range(len(train)))
