"""TGAN and Moving MNIST: the clips are deterministic, bounce inside the canvas and are drawn from the right MNIST
split; the temporal generator gives each frame its own latent while z0 is shared; singular value clipping bounds
every critic weight's singular values and BatchNorm gain by 1, every `svc_every` steps; clips travel as
(B, T*C, H, W) through the engine and come out of `gankit sample` as GIFs and (N, T, H, W, C) arrays; the video
capabilities tell real motion from stills and flicker; and a small TGAN learns one-digit clips.

Learning test measured when its thresholds were set (seed 0, 1 thread, a loaded 2-core machine; 8 frames of
16 px, one digit, z0 32, z1 16, widths 32 / 32 / 16, lr 5e-4, init +-0.05, 1,000 steps of 16 on 2,000 clips, 42 s;
300 clips vs 300 held-out ones): frame FID[lenet-mnist] on digit crops 2082 -> 609, mean frame difference
2e-8 -> 0.033 (held-out clips at 16 px: about 0.03). Thresholds leave a wide margin.
"""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.capabilities.video import agreement, frame_digits, motion_stats
from gankit.cli import main
from gankit.data import load_data, load_mnist
from gankit.data.clips import stack_frames, unstack_frames
from gankit.data.core import ImageDataset
from gankit.data.moving_mnist import CANVAS, DIGIT, moving_mnist, trajectories
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.models.base import Batch
from gankit.nn.video import VideoCritic, clip_singular_values_


def tiny(**overrides):
    torch.manual_seed(0)
    return gankit.create_model("tgan", preset="tiny", **overrides)


# ---- Moving MNIST -----------------------------------------------------------------------------
def test_moving_mnist_is_deterministic_and_shaped_as_stacked_frames():
    a = moving_mnist("train", frames=8, size=32, digits=2, n=40)
    b = moving_mnist("train", frames=8, size=32, digits=2, n=40)
    assert a.images.shape == (40, 8, 32, 32) and a.images.dtype == torch.uint8
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert 0 <= a.labels.min() and a.labels.max() <= 99 and a.class_names[37] == "37"
    rgb = moving_mnist("train", frames=8, size=32, channels=3, digits=2, n=40)
    assert rgb.images.shape == (40, 24, 32, 32)
    assert torch.equal(unstack_frames(rgb.images, 8)[:, :, 1], a.images)  # gray replicated into each colour
    assert not torch.equal(moving_mnist("test", frames=8, size=32, n=40).images, a.images)


def test_digits_bounce_inside_the_canvas_at_their_speed():
    corners = trajectories(500, 40, 2, np.random.default_rng(0))  # (n, T, digits, 2)
    assert corners.min() >= 0 and corners.max() <= CANVAS - DIGIT
    steps = np.abs(np.diff(corners, axis=1))  # per axis, rounded
    speed = np.linalg.norm(np.diff(corners, axis=1), axis=-1)
    assert steps.max() <= 6 and 2.5 < speed.mean() < 4.5
    # Reflection: along an axis a digit moves one way, then (at a border) the other way; in 40 frames most do.
    signs = np.sign(np.diff(corners[..., 0], axis=1))
    assert ((signs > 0).any(1) & (signs < 0).any(1)).mean() > 0.5


def test_train_clips_draw_train_digits_and_test_clips_test_digits():
    for split, mnist_split in (("train", "train"), ("test", "test")):
        clips = moving_mnist(split, frames=2, size=64, digits=1, n=20)
        digits, labels = load_mnist(mnist_split)
        ink = digits.flatten(1).sum(1, dtype=torch.int64)  # (N,) per glyph
        for clip, label in zip(clips.images[:5], clips.labels[:5]):
            frame = clip[0]  # (64, 64): one digit, whole (it never leaves the canvas)
            found = False
            for i in (ink == frame.sum(dtype=torch.int64)).nonzero()[:, 0].tolist():  # glyphs with the same ink
                windows = frame.unfold(0, DIGIT, 1).unfold(1, DIGIT, 1)  # (37, 37, 28, 28)
                if (windows == digits[i, 0]).flatten(2).all(2).any():
                    found = found or int(labels[i]) == int(label)
            assert found, f"{split}: a clip's digit is not one of MNIST's {mnist_split} digits with its label"


def test_load_data_gives_clips_only_to_models_of_clips():
    ds = load_data("moving-mnist-1", 32, 16, split="test", frames=16)
    assert ds.images.shape == (2000, 16, 32, 32) and ds.labels.max() <= 9
    with pytest.raises(GankitError, match="holds clips"):
        load_data("moving-mnist", 32, 1)
    with pytest.raises(GankitError, match="learns from clips"):
        load_data("mnist", 32, 16, frames=16)
    with pytest.raises(GankitError, match="splits"):
        load_data("moving-mnist", 32, 16, split="valid", frames=16)


def test_clip_layout_round_trips():
    clips = torch.randn(3, 4, 2, 5, 5)  # (N, T, C, H, W)
    stacked = stack_frames(clips)
    assert stacked.shape == (3, 8, 5, 5) and torch.equal(stacked[:, 2:4], clips[:, 1])
    assert torch.equal(unstack_frames(stacked, 4), clips)
    with pytest.raises(GankitError, match="cannot hold"):
        unstack_frames(stacked, 3)


# ---- the model --------------------------------------------------------------------------------
def test_frames_share_z0_and_each_frame_is_drawn_from_its_own_latent():
    model = tiny().eval()
    g = model.generator
    z0 = torch.randn(3, 8)
    clips = g(z0)  # (3, T*C, 8, 8)
    z1 = g.temporal(z0)  # (3, T, 8)
    assert z1.shape == (3, 4, 8) and z1.abs().max() <= 1
    t = 2
    alone = g.frame(z0, z1[:, t])  # (3, 1, 8, 8): frame t from (z0, z1_t) alone
    assert torch.allclose(unstack_frames(clips, 4)[:, t], alone, atol=1e-6)
    # The frame latents differ over time, so the frames do too (the temporal generator makes the motion).
    assert (z1[:, 1:] - z1[:, :-1]).abs().max() > 0


def test_the_critic_reads_clips_in_time_order():
    torch.manual_seed(0)
    critic = VideoCritic(1, 16, 8, 4).eval()
    clips = torch.randn(4, 8, 16, 16)
    assert critic(clips).shape == (4,)
    assert not torch.allclose(critic(clips), critic(clips.flip(1)))  # a 3-D conv sees the order of frames
    assert [m.kernel_size for m in critic.modules() if isinstance(m, torch.nn.Conv3d)] == [(4, 4, 4), (4, 4, 4), (2, 4, 4)]


def test_singular_value_clipping_bounds_every_weight_and_batchnorm_gain():
    torch.manual_seed(0)
    critic = VideoCritic(1, 16, 8, 4)
    critic(torch.randn(6, 8, 16, 16))  # running statistics move
    convs = [m for m in critic.modules() if isinstance(m, torch.nn.Conv3d)]
    for m in convs:
        m.weight.data *= 50
    bn = next(m for m in critic.modules() if isinstance(m, torch.nn.BatchNorm3d))
    bn.weight.data = torch.tensor([100.0, 1e-6, -1.0, 0.5, 2.0, 1.0, 1.0, 1.0])[: bn.num_features]
    before = [torch.linalg.svdvals(m.weight.reshape(m.weight.shape[0], -1)) for m in convs]
    clip_singular_values_(critic)
    for m, s0 in zip(convs, before):
        s = torch.linalg.svdvals(m.weight.reshape(m.weight.shape[0], -1))
        assert s.max() <= 1 + 1e-4 and s0.max() > 1.5
        assert torch.allclose(s, s0.clamp(max=1), atol=1e-4)  # W <- U min(S, 1) V^T
    std = bn.running_var.sqrt()
    assert (bn.weight <= std + 1e-6).all() and (bn.weight >= 0.01 * std - 1e-6).all()


def test_train_step_clips_the_critic_every_svc_every_steps():
    model = tiny(svc_every=3)
    batch = Batch(torch.rand(8, 4, 8, 8) * 2 - 1)

    def top_singular_value():
        return max(torch.linalg.svdvals(m.weight.reshape(m.weight.shape[0], -1)).max().item()
                   for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv3d))

    for step in range(1, 7):
        for m in model.discriminator.modules():
            if isinstance(m, torch.nn.Conv3d):
                m.weight.data *= 30  # far above 1 after every step unless clipped
        logs = model.train_step(batch)
        assert (top_singular_value() <= 1 + 1e-4) == (step % 3 == 0), step
    assert set(logs) == {"loss/d", "loss/g", "wasserstein/estimate"}


def test_config_rejects_bad_values():
    with pytest.raises(GankitError, match="frames must be a power of two"):
        tiny(frames=6)
    with pytest.raises(GankitError, match="image_size must be a power of two"):
        tiny(image_size=28)
    with pytest.raises(GankitError, match="svc_every"):
        tiny(svc_every=0)
    with pytest.raises(GankitError, match="channels must be 1"):
        tiny(channels=2)


def test_preview_shows_one_clip_per_row_and_cpu_preset_gives_16_frames_of_32px():
    model = tiny()
    images, nrow = model.preview(16)
    assert images.shape == (16, 1, 8, 8) and nrow == 4  # 4 clips of 4 frames
    spec = gankit.create_model("tgan", preset="cpu").data_spec()
    assert (spec.frames, spec.channels, spec.image_size) == (16, 16, 32)


@pytest.fixture
def tiny_run(tmp_path):
    model = tiny(init_scale=0.5)  # large weights: the frames of a clip differ already
    clips = moving_mnist("train", frames=4, size=8, digits=1, n=32)
    config = TrainConfig(batch_size=8, steps=4, sample_every=2, log_every=1, checkpoint_every=4, grid_size=8)
    Trainer(model, clips, config, tmp_path / "run").fit()
    return tmp_path / "run"


def test_the_engine_trains_on_clips_and_sample_writes_gifs_and_video_arrays(tiny_run, tmp_path):
    grid = Image.open(tiny_run / "samples.png")
    assert grid.size == (4 * 10 + 2, 2 * 10 + 2)  # 2 clips of 4 frames, 8 px with 2 px gaps
    assert main(["sample", str(tiny_run), "--out", str(tmp_path / "clip.gif"), "-n", "6"]) == 0
    gif = Image.open(tmp_path / "clip.gif")
    assert gif.n_frames == 4 and gif.is_animated
    assert main(["sample", str(tiny_run), "--out", str(tmp_path / "clips.npz"), "-n", "6"]) == 0
    arrays = np.load(tmp_path / "clips.npz")
    assert arrays["images"].shape == (6, 4, 8, 8, 1) and arrays["images"].dtype == np.uint8
    assert main(["sample", str(tiny_run), "--out", str(tmp_path / "gifs"), "-n", "3"]) == 0
    assert sorted(p.name for p in (tmp_path / "gifs").iterdir()) == ["000000.gif", "000001.gif", "000002.gif"]
    assert main(["sample", str(tiny_run), "--out", str(tmp_path / "clips.jpg")]) == 2


# ---- the capabilities -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_clips():
    ds = moving_mnist("test", frames=16, size=32, digits=1, n=200)
    return unstack_frames(ds.images.float() / 127.5 - 1, 16), ds.labels  # (N, T, 1, 32, 32)


def test_motion_tells_moving_digits_from_stills_and_flicker(real_clips):
    clips, _ = real_clips
    real = motion_stats(clips)
    assert real["frame_diff"] > 0.01 and real["smoothness"] < 0.85 and real["centre_smoothness"] < 0.4
    assert 2 < real["centre_speed"] < 5  # px per frame on the 64 px canvas, as drawn
    still = motion_stats(clips[:, :1].expand_as(clips))
    assert still["frame_diff"] == 0 and still["centre_speed"] == 0
    flicker = motion_stats(clips[:, torch.randperm(16)])  # the same frames in a random order
    assert flicker["smoothness"] > 0.9 and flicker["centre_smoothness"] > 0.8


def test_clip_identity_reads_one_digit_per_real_clip(real_clips):
    clips, labels = real_clips
    digits = frame_digits(clips)  # (N, T)
    assert agreement(digits) > 0.95 and (digits.mode(1).values == labels).float().mean() > 0.95
    mixed = digits.flatten()[torch.randperm(digits.numel())].view_as(digits)
    assert agreement(mixed) < 0.5  # frames of different clips disagree


SMALL = {"frames": 8, "image_size": 16, "latent_dim": 32, "frame_latent_dim": 16, "temporal_width": 32, "g_width": 32,
         "d_width": 16, "lr": 5e-4, "init_scale": 0.05}


def test_small_tgan_learns_moving_digits(tmp_path):
    from gankit.api import train
    from gankit.capabilities import measure
    from gankit.data.batches import HeldOut

    test = moving_mnist("test", frames=8, size=16, digits=1, n=300)
    data = HeldOut(train=test, test=test)
    torch.manual_seed(0)
    before = measure(gankit.create_model("tgan", **SMALL), data, n=300)
    run = train("tgan", "moving-mnist-1", out=tmp_path, name="r", model_config=SMALL, steps=1000, seed=0,
                max_images=2000, batch_size=16, sample_every=10**6, checkpoint_every=10**6, log_every=100)
    after = measure(gankit.load(run), data, n=300)
    fid = "identity/frame_fid[lenet-mnist]"
    print(f"tgan: frame fid {before[fid]:.0f} -> {after[fid]:.0f}, frame diff {before['motion/frame_diff']:.4f} -> "
          f"{after['motion/frame_diff']:.4f}")
    assert after[fid] < 1200 and after[fid] < 0.6 * before[fid]
    assert before["motion/frame_diff"] < 0.001 < 0.01 < after["motion/frame_diff"]


def test_capabilities_need_one_digit_clips_from_a_model_of_clips():
    from gankit.capabilities import measure
    from gankit.data.batches import HeldOut

    two = moving_mnist("test", frames=4, size=8, digits=2, n=20)
    with pytest.raises(GankitError, match="moving-mnist-1"):
        measure(tiny(), HeldOut(train=two, test=two), n=4)
    plain = gankit.create_model("dcgan", preset="tiny")
    one = ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.long))
    with pytest.raises(GankitError, match="does not generate clips"):
        measure(plain, HeldOut(train=one, test=one), names=("motion",), n=4)
