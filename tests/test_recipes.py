"""Proof recipes (benchmarks/recipes/*.json) name a registered variant, valid train settings, a valid
model config for every run, and a figure that exists: a typo fails here, not an hour into a proof."""

import inspect
import json
import sys
from pathlib import Path

import pytest

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
