import pytest

import gankit
from gankit.cli import main
from gankit.config import Config
from gankit.errors import GankitError
from gankit.registry import get_model_class


def test_list_models_has_foundation_variants():
    names = gankit.list_models()
    assert {"gan", "dcgan"} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", gankit.list_models())
def test_every_model_cites_its_paper(name):
    cls = get_model_class(name)
    assert cls.arxiv.count(".") == 1 and cls.paper and cls.task and cls.data_needs
    doc = __import__(cls.__module__, fromlist=["x"]).__doc__
    assert cls.arxiv in doc, f"{cls.__module__} must start with its paper's arXiv id"
    assert "tiny" in cls.config_class.presets, "every variant needs a tiny preset for the model tests"


@pytest.mark.parametrize("name", gankit.list_models())
def test_paper_defaults_and_every_preset_build(name):
    """`gankit train NAME` with no preset builds the paper's nets; each named preset builds too."""
    gankit.create_model(name)
    for preset in get_model_class(name).config_class.presets:
        gankit.create_model(name, preset=preset)


def test_unknown_model_suggests_close_names():
    with pytest.raises(GankitError, match="did you mean dcgan"):
        gankit.create_model("dcgna")


def test_config_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(GankitError, match="unknown GANConfig key 'latnt_dim'.*did you mean latent_dim"):
        gankit.create_model("gan", latnt_dim=3)
    with pytest.raises(GankitError, match="expected an integer"):
        gankit.create_model("gan", latent_dim="big")
    with pytest.raises(GankitError, match="'mlp' \\| 'dcgan'"):
        gankit.create_model("gan", arch="resnet")
    with pytest.raises(GankitError, match="unknown preset 'huge'.*tiny"):
        gankit.create_model("gan", preset="huge")
    with pytest.raises(GankitError, match="power of two"):
        gankit.create_model("dcgan", image_size=28)


def test_config_round_trips_through_dict():
    model = gankit.create_model("dcgan", preset="cpu", latent_dim=12)
    config = model.config
    again = type(config).from_dict(config.to_dict())
    assert again == config and isinstance(config, Config)
    assert config.g_width == 32 and config.latent_dim == 12 and config.betas == (0.5, 0.999)


def test_cli_list_prints_papers(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "1406.2661" in out and "1511.06434" in out and "generate" in out


def test_cli_unknown_model_is_one_line(capsys):
    assert main(["train", "dcgna", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: unknown model 'dcgna'") and "\n" not in err
