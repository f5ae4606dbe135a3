"""Proof recipes (benchmarks/recipes/*.json) name a registered variant, valid train settings, a valid
model config for every run, and a figure that exists: a typo fails here, not an hour into a proof."""

import inspect
import json
import sys
from pathlib import Path

import pytest
import torch

import gankit
from gankit.api import train
from gankit.engine.trainer import TrainConfig

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
RECIPES = sorted((BENCH / "recipes").glob("*.json"))
TRAIN_ARGS = set(inspect.signature(train).parameters) - {"model", "train_config", "out", "name"}
RECIPE_ONLY = {"runs", "seeds", "figure", "why", "sample_metrics"}


def test_every_variant_with_a_capability_has_a_recipe():
    names = {p.stem for p in RECIPES}
    assert names <= set(gankit.list_models())
    with_capability = {m for m in gankit.list_models() if gankit.registry.get_model_class(m).capabilities}
    assert with_capability <= names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_is_valid(path):
    recipe = json.loads(path.read_text())
    allowed = set(TrainConfig.field_names()) | TRAIN_ARGS | RECIPE_ONLY
    runs = recipe.get("runs", [{}])
    for spec in [recipe, *runs]:
        assert set(spec) - allowed - {"name"} == set(), f"unknown keys in {path.name}"
    for run in runs:
        merged = {**recipe, **run, "model_config": {**recipe.get("model_config", {}), **run.get("model_config", {})}}
        model = gankit.create_model(path.stem, preset=merged.get("preset"), **merged["model_config"])
        assert model.name == path.stem
        TrainConfig.from_dict({k: v for k, v in merged.items() if k in TrainConfig.field_names()})
    if "figure" in recipe:
        sys.path.insert(0, str(BENCH))
        try:
            from figures import FIGURES
        finally:
            sys.path.remove(str(BENCH))
        assert recipe["figure"] in FIGURES
    assert isinstance(recipe.get("why", ""), str)


@pytest.fixture
def quality_script(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import quality

    return quality


def test_kept_proof_runs_are_read_back_or_resumed_bit_for_bit(quality_script, tmp_path, monkeypatch):
    """`quality.py --proofs --keep DIR`: a measured run is not trained again, and a run stopped after a
    checkpoint resumes to the weights the uninterrupted run reached."""
    from safetensors.torch import load_file

    monkeypatch.setattr(quality_script, "KEPT_CHECKPOINT_EVERY", 10)
    spec = {"tag": "gan-kept", "run": None, "data": "mnist", "steps": 20, "batch_size": 8, "seed": 0,
            "max_images": 64, "model_config": {"g_hidden": [32], "d_hidden": [32]}, "sample_metrics": []}
    out = tmp_path / "results"
    (out / "proofs").mkdir(parents=True)
    label, row, run = quality_script.proof_row("gan", spec, 10, tmp_path / "keep", out, threads=1, keep=True)
    assert (run / quality_script.KEPT_ROW).exists() and row["steps"] == 20 and "resumed_from_step" not in row
    finished = load_file(run / "checkpoints" / "step-00000020" / "model.safetensors")

    _, again, _ = quality_script.proof_row("gan", spec, 10, tmp_path / "keep", out, threads=1, keep=True)
    assert again == row  # read back, not trained again

    # Stop the run after its first checkpoint: drop the measured row and the last checkpoint.
    (run / quality_script.KEPT_ROW).unlink()
    for path in sorted((run / "checkpoints" / "step-00000020").iterdir()):
        path.unlink()
    (run / "checkpoints" / "step-00000020").rmdir()
    (run / "checkpoints" / "latest").write_text("step-00000010")
    _, resumed, _ = quality_script.proof_row("gan", spec, 10, tmp_path / "keep", out, threads=1, keep=True)
    assert resumed["resumed_from_step"] == 10 and resumed["steps"] == 20
    reached = load_file(run / "checkpoints" / "step-00000020" / "model.safetensors")
    assert finished.keys() == reached.keys()
    assert all(torch.equal(finished[k], reached[k]) for k in finished)

    # A recipe whose budget was raised trains the kept run on to it.
    _, longer, _ = quality_script.proof_row("gan", {**spec, "steps": 30}, 10, tmp_path / "keep", out, threads=1, keep=True)
    assert longer["steps"] == 30 and longer["resumed_from_step"] == 20
