"""The headless playground core: toy data, every loss, live changes, seeding, metrics, saving.

The two learning tests train on 8 Gaussians for 1,000 iterations each (one thread; 10-14 s each on
the shared 2-core machine). Measured (seed 0, torch 2.14.1 CPU):
- collapsing: non-saturating loss, Adam 1e-3, three G steps per D step (`g_steps=3`): 0 modes covered,
  2,463 of 2,500 fakes nearest to one centre, high-quality share 0.00;
- stable: R1 (gamma 0.1), G and D of 2 x 100 ReLU units, Adam 1e-3: 8 of 8 modes, high-quality share
  0.33 (seed 1: 8 modes; seed 2: 7).
"""

from __future__ import annotations

import math

import pytest
import torch

from gankit.errors import GankitError
from gankit.playground import (
    LOSSES,
    TOY_DATASETS,
    Playground,
    PlaygroundConfig,
    decode_frame,
    encode_frame,
    from_query,
    make_toy,
    parse_csv,
    to_query,
)
from gankit.playground.metrics import histogram_divergences, mode_quality

TINY = "g_layers=1&g_width=16&d_layers=1&d_width=16&batch_size=64"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(query: str = "", points=None) -> Playground:
    config, url_points = from_query(f"{TINY}&{query}")
    return Playground(config, points if points is not None else url_points)


def weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, b))


# ---- toy data ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in TOY_DATASETS if n not in ("drawn", "csv")])
def test_toy_data_shape_and_property(name):
    toy = make_toy(name)
    x = toy.sample(4000, torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.dtype == torch.float32 and torch.isfinite(x).all()
    cx, cy, half = toy.view
    assert ((x - torch.tensor([cx, cy])).abs() < half).float().mean() > 0.99  # drawn inside the view
    if toy.centres is not None:  # a mixture: every point within 5 std of a centre, every centre used
        nearest, which = torch.cdist(x, toy.centres).min(1)
        assert nearest.max() < 5 * toy.std
        assert torch.bincount(which, minlength=len(toy.centres)).min() > 4000 / len(toy.centres) / 2
    if name == "8gaussians":
        assert len(toy.centres) == 8 and torch.allclose(toy.centres.norm(dim=1), torch.full((8,), 2.0))
    if name == "25gaussians":
        assert len(toy.centres) == 25 and set(toy.centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    if name == "line":
        assert (x[:, 1] - 0.5 * x[:, 0]).abs().max() < 0.15
    if name == "ring":
        r = x.norm(dim=1)
        assert (r - 0.7).abs().max() < 0.15 and abs(r.mean() - 0.7) < 0.01
    if name == "swiss_roll":  # radius grows with the angle from 1.5 pi / 5 to 4.5 pi / 5
        r = x.norm(dim=1)
        assert r.min() > 1.5 * math.pi / 5 - 0.3 and r.max() < 4.5 * math.pi / 5 + 0.3


def test_drawn_points_are_sampled_near_the_points():
    points = [[-0.5, -0.5], [0.5, 0.5], [0.5, -0.5]]
    toy = make_toy("drawn", torch.tensor(points))
    x = toy.sample(1000, torch.Generator().manual_seed(0))
    assert torch.cdist(x, torch.tensor(points)).min(1).values.max() < 0.1
    with pytest.raises(GankitError, match="needs points"):
        make_toy("drawn")


def test_csv_parses_headers_comments_and_separators():
    points = parse_csv("x,y\n# a comment\n1,2\n\n3.5;-4\n5\t6e-1\n")
    assert points.tolist() == [[1.0, 2.0], [3.5, -4.0], [5.0, pytest.approx(0.6)]]
    toy = make_toy("csv", points)
    assert toy.view == pytest.approx((3.0, -1.0, 3.75))  # fitted: centre of the box, 1.25 x its half-side


@pytest.mark.parametrize("text, line", [("1,2\n3,4\n5,oops\n", 3), ("1,2\n3,4,5\n", 2), ("1,2\nnan,1\n", 2)])
def test_malformed_csv_is_one_error_naming_the_line(text, line):
    with pytest.raises(GankitError, match=f"^CSV line {line}: expected two") as info:
        parse_csv(text)
    assert "\n" not in str(info.value)


def test_csv_with_too_few_points():
    with pytest.raises(GankitError, match="at least 2 points"):
        parse_csv("x,y\n1,2\n")


# ---- the losses and steps ----------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_both_nets(loss):
    run = tiny(f"loss={loss}")
    g0, d0 = weights(run.g), weights(run.d)
    out = run.step()
    assert math.isfinite(out["loss/d"]) and math.isfinite(out["loss/g"]) and run.iteration == 1
    assert not same(weights(run.g), g0) and not same(weights(run.d), d0)
    penalty = {"wgan_gp": "penalty/gp", "dragan": "penalty/dragan", "r1": "penalty/r1"}.get(loss)
    if penalty:
        assert out[penalty] > 0
    if loss == "wgan":  # the critic's weights are clipped after its step
        assert max(p.abs().max().item() for p in run.d.parameters()) <= run.config.clip + 1e-9
    metrics = run.metrics()
    assert (metrics["w1"] is not None) == (loss in ("wgan", "wgan_gp"))


def test_r1_penalty_is_gamma_over_two_times_the_squared_gradient_norm():
    run = tiny("loss=r1&penalty_weight=4")
    real = torch.randn(64, 2, requires_grad=True)
    _, pen = run.objective.d_loss(run.d, real, torch.randn(64, 2), run.config, run.gen)
    (grad,) = torch.autograd.grad(run.d(real).sum(), real)
    assert pen["penalty/r1"].item() == pytest.approx(2 * grad.pow(2).sum(1).mean().item(), rel=1e-5)


def test_steps_per_iteration():
    run = tiny("d_steps=3&g_steps=2")
    calls = []
    run.d_step, run.g_step = (lambda: calls.append("d") or {"loss/d": 0.0}), (lambda: calls.append("g") or {"loss/g": 0.0})
    run.step()
    assert calls == ["d", "d", "d", "g", "g"]


def test_d_only_step_moves_the_heatmap_not_the_fakes():
    run = tiny()
    heat, fake = run.heatmap(), run.fakes()
    run.d_step()
    assert not torch.equal(run.heatmap(), heat) and torch.equal(run.fakes(), fake)
    heat, fake = run.heatmap(), run.fakes()
    run.g_step()
    assert torch.equal(run.heatmap(), heat) and not torch.equal(run.fakes(), fake)


def test_slow_motion_phases_show_d_then_g():
    run = tiny("d_steps=2")
    fake, seen = run.fakes(), []
    run.step(on_phase=lambda phase: seen.append((phase, torch.equal(run.fakes(), fake), run.iteration)))
    assert seen == [("d", True, 0), ("g", False, 1)]  # after D's steps the fakes have not moved yet


def test_server_trainer_applies_commands_and_reports_errors(tmp_path):
    from gankit.playground.server import Trainer

    published = []
    trainer = Trainer(lambda kind, payload: published.append((kind, payload)), out=tmp_path,
                      playground=tiny())
    trainer._safely(trainer._apply, {"type": "config", "query": "loss=hinge"})
    trainer.slow = True
    trainer._safely(trainer._apply, {"type": "step"})
    phases = [decode_frame(p)[0]["phase"] for k, p in published if k == "frame"]
    assert phases == ["", "D step: D's surface moved; the fakes stayed", "G step: the fakes moved along the arrows",
                      ""]
    assert trainer.pg.config.loss == "hinge" and trainer.pg.iteration == 1
    trainer._safely(trainer._apply, {"type": "csv", "text": "1,2\nbad\n"})
    trainer._safely(trainer._apply, {"type": "save"})
    messages = [p for k, p in published if k == "message"]
    assert messages[0] == {"type": "error", "message": "CSV line 2: expected two numbers x,y, got 'bad'"}
    assert messages[1]["type"] == "saved" and Playground.load(messages[1]["path"]).iteration == 1


# ---- live changes ------------------------------------------------------------------------
def test_changing_loss_and_rates_keeps_the_weights():
    run = tiny()
    for _ in range(3):
        run.step()
    g0, d0 = weights(run.g), weights(run.d)
    run.configure(run.config.replace(loss="hinge", g_lr=0.01, d_optimizer="sgd", d_lr=0.05))
    assert same(weights(run.g), g0) and same(weights(run.d), d0) and run.iteration == 3
    assert run.opt_g.param_groups[0]["lr"] == 0.01 and isinstance(run.opt_d, torch.optim.SGD)
    assert run.opt_d.param_groups[0]["lr"] == 0.05
    assert run.heatmap().shape == (48, 48)
    run.step()
    assert run.iteration == 4 and run.frame()["info"]["heat_kind"] == "critic"


def test_changing_one_nets_shape_rebuilds_only_that_net():
    run = tiny()
    run.step()
    g0 = weights(run.g)
    run.configure(run.config.replace(d_layers=2, d_width=8))
    assert same(weights(run.g), g0) and len(run.d) == 5 and run.d[0].out_features == 8
    run.configure(run.config.replace(noise_dim=5, noise="uniform"))
    assert run.g[0].in_features == 5 and run.eval_z.shape[1] == 5 and run.eval_z.abs().max() <= 1
    run.step()


def test_changing_data_keeps_the_weights_and_moves_the_view():
    run = tiny()
    g0 = weights(run.g)
    run.configure(run.config.replace(data="25gaussians"))
    assert same(weights(run.g), g0) and run.toy.view[2] == 5.5 and run.metrics()["modes_total"] == 25
    run.configure(run.config.replace(data="csv"), points=[[0, 0], [10, 10]])
    assert run.metrics()["modes"] is None
    run.step()


def test_a_new_seed_restarts_the_run():
    run = tiny()
    run.step()
    run.configure(run.config.replace(seed=5))
    assert run.iteration == 0 and run.config.seed == 5


# ---- seeding and the URL -----------------------------------------------------------------
def test_same_url_twice_gives_bit_identical_metrics():
    def play(query):
        run = tiny(query)
        for _ in range(25):
            run.step()
        return run.metrics(), run.history, weights(run.g)

    a, b = play("seed=3&loss=wgan_gp"), play("seed=3&loss=wgan_gp")
    assert a[0] == b[0] and a[1] == b[1] and same(a[2], b[2])
    assert play("seed=4&loss=wgan_gp")[0] != a[0]


def test_query_round_trip_and_drawn_points():
    config, _ = from_query("seed=7&loss=dragan&g_lr=0.00031&data=drawn&noise=uniform")
    query = to_query(config, [[0.1234567, -0.5], [0.25, 0.75]])
    again, points = from_query(query)
    assert again == config and points == [[0.123, -0.5], [0.25, 0.75]]
    assert from_query(to_query(PlaygroundConfig()))[0] == PlaygroundConfig()
    run, replay = Playground(config, [[0.1234567, -0.5], [0.25, 0.75]]), Playground(again, points)
    run.step()
    replay.step()
    assert run.metrics() == replay.metrics()  # the drawn points are rounded as the URL writes them


@pytest.mark.parametrize("query, message", [
    ("loss=bogus", "loss='bogus' is not one of nonsaturating, minimax, least_squares, wgan, wgan_gp, hinge"),
    ("lr=0.1", "unknown playground setting 'lr'; valid settings: seed, data"),
    ("g_width=wide", "g_width='wide' is not an integer"),
    ("g_layers=6", "g_layers must be 0..5"),
    ("d_width=101", "d_width must be 1..100"),
    ("d_lr=0", "must be a number > 0"),
    ("points=1,2;3", "points: pair 2"),
])
def test_bad_query_is_one_clear_error(query, message):
    with pytest.raises(GankitError) as info:
        from_query(query)
    assert message in str(info.value) and "\n" not in str(info.value)


# ---- metrics and frames ------------------------------------------------------------------
def test_mode_metrics_exactly():
    toy = make_toy("8gaussians")
    real = toy.sample(2500, torch.Generator().manual_seed(0))
    full = mode_quality(real, toy.centres, toy.std)
    # within 3 std lies 1 - exp(-9/2) = 98.9% of a 2-D Gaussian
    assert full["modes"] == 8 and full["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    one = mode_quality(toy.centres[:1].repeat(100, 1), toy.centres, toy.std)
    assert one == {"modes": 1.0, "high_quality": 1.0}
    few = mode_quality(toy.centres.repeat(19, 1), toy.centres, toy.std)  # 19 per mode: below 20
    assert few["modes"] == 0 and few["high_quality"] == 1.0
    off = mode_quality(toy.centres + 3.01 * toy.std, toy.centres, toy.std)  # just outside 3 std on each axis
    assert off["high_quality"] == 0.0


def test_histogram_divergences():
    view = (0.0, 0.0, 1.0)
    x = torch.rand(5000, 2, generator=torch.Generator().manual_seed(0)) - 0.5
    same_ = histogram_divergences(x, x, view)
    assert same_["js"] == pytest.approx(0, abs=1e-12) and same_["kl"] == pytest.approx(0, abs=1e-12)
    apart = histogram_divergences(x * 0.1 + 0.5, x * 0.1 - 0.5, view)
    # disjoint: JS = ln 2 up to the smoothing
    assert apart["js"] == pytest.approx(math.log(2), rel=2e-3) and apart["kl"] > 10


def test_frame_round_trips_through_bytes():
    run = tiny("loss=wgan")
    run.step()
    frame = run.frame(phase="G step")
    info, arrays = decode_frame(encode_frame(frame))
    assert info["iteration"] == 1 and info["phase"] == "G step" and info["metrics"] == run.metrics()
    assert set(arrays) == {"real", "fake", "heat", "arrows", "manifold"}
    for name, tensor in frame["arrays"].items():
        assert (arrays[name] == tensor.numpy()).all()
    assert arrays["heat"].shape == (48, 48) and 0 <= arrays["heat"].min() and arrays["heat"].max() <= 1
    assert arrays["manifold"].shape == (16, 16, 2)
    assert from_query(info["query"])[0] == run.config


def test_arrows_point_where_g_loss_falls():
    run = tiny()
    fake = run.fakes()[:50]
    arrows = run.arrows(fake)
    before = run.objective.g_loss(run.d(fake))
    after = run.objective.g_loss(run.d(fake + 1e-3 * arrows / arrows.norm(dim=1, keepdim=True)))
    assert after < before


# ---- saving ------------------------------------------------------------------------------
def test_saved_run_resumes_bit_for_bit(tmp_path):
    run = tiny("loss=wgan_gp")
    for _ in range(10):
        run.step()
    run.configure(run.config.replace(d_width=12))  # a rebuild, which the reloaded run must replay
    run.save(tmp_path / "run")
    for _ in range(10):
        run.step()
    again = Playground.load(tmp_path / "run")
    assert again.iteration == 10
    for _ in range(10):
        again.step()
    assert again.metrics() == run.metrics() and again.history == run.history
    assert (tmp_path / "run" / "model.safetensors").exists()
    with pytest.raises(GankitError, match="not a readable playground run"):
        Playground.load(tmp_path)


# ---- learning: collapse and coverage on 8 Gaussians ---------------------------------------
@pytest.mark.slow
def test_three_g_steps_per_d_step_collapse_on_8_gaussians():
    run = Playground(from_query("loss=nonsaturating&g_steps=3")[0])
    for _ in range(1000):
        run.step()
    metrics = run.metrics()
    nearest = torch.cdist(run.fakes(), run.toy.centres).argmin(1)
    assert metrics["modes"] <= 3  # measured 0
    assert torch.bincount(nearest, minlength=8).max() > 0.5 * len(nearest)  # measured 98.5% at one mode


@pytest.mark.slow
def test_r1_covers_all_8_gaussians():
    query = "loss=r1&penalty_weight=0.1&g_layers=2&g_width=100&d_layers=2&d_width=100"
    run = Playground(from_query(query)[0])
    for _ in range(1000):
        run.step()
    metrics = run.metrics()
    assert metrics["modes"] == 8 and metrics["high_quality"] > 0.15  # measured 8 and 0.33
