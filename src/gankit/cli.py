"""`gankit` command line: list | train | sample | eval | classify | encode | translate | inpaint | upscale | playground."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gankit.errors import GankitError, TrainingInterrupted


def _train_overrides(args: argparse.Namespace) -> dict:
    keys = ("steps", "epochs", "minutes", "batch_size", "seed", "device", "ema", "sample_every",
            "checkpoint_every", "log_every", "threads", "eval_every", "eval_n", "lr_decay_from")
    values = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "amp", None) is not None:
        values["amp"] = args.amp == "on"
    if getattr(args, "progress", None) is not None:
        values["progress"] = args.progress
    return values


def cmd_list(args: argparse.Namespace) -> None:
    from gankit.models.verbs import verbs_of
    from gankit.registry import get_model_class, list_models

    rows = [("name", "task", "data", "verbs", "paper (arXiv)")]
    for name in list_models():
        cls = get_model_class(name)
        rows.append((name, cls.task, cls.data_needs, ",".join(verbs_of(cls)) or "-", f"{cls.paper} ({cls.arxiv})"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])


def cmd_train(args: argparse.Namespace) -> None:
    from gankit import api
    from gankit.config import parse_override

    overrides = _train_overrides(args)
    if args.resume:
        if args.model or args.preset:
            raise GankitError("--resume continues a run with its own model and preset: drop the model name and "
                              "--preset (--set changes config values such as lr_d)")
        run = api.resume(args.resume, model_config=dict(parse_override(s) for s in args.set or []), **overrides)
    else:
        if not args.model:
            raise GankitError("name a model to train (see `gankit list`), or --resume RUN")
        model_config = dict(parse_override(s) for s in args.set or [])
        augment = None if args.augment is None else args.augment == "on"
        preset = args.preset
        if preset is None:
            from gankit.config import default_preset
            from gankit.registry import get_model_class

            preset = default_preset(args.model, args.data, get_model_class(args.model).config_class.presets)
            if preset is not None:
                print(f"gankit: {args.model} on {args.data}: using the preset {preset!r} the proofs train with "
                      "(--preset paper for the paper's nets)", file=sys.stderr)
        run = api.train(args.model, args.data, out=args.out, name=args.name, preset=preset,
                        model_config=model_config, data_dir=args.data_dir, max_images=args.max_images,
                        direction=args.direction, augment=augment, **overrides)
    from gankit.engine import distributed

    distributed.shutdown()
    print(f"run written to {run}")


def _write_interpolation(model, frames: int, space: str | None, gen, out: Path) -> None:
    """`frames` images from one seed's latent to the next's: a one-row PNG strip, or a folder of frames."""
    import torch

    from gankit.data import to_uint8
    from gankit.engine.artifacts import save_grid
    from gankit.inference import require
    from gankit.metrics.ppl import interpolate_latents

    require(model, "interpolate")
    if frames < 2:
        raise GankitError(f"--interpolate needs at least 2 frames, got {frames}")
    spaces = model.latent_spaces()
    space = space or spaces[-1]
    if space not in spaces:
        raise GankitError(f"--space {space}: {model.name} interpolates in {', '.join(spaces)}")
    with torch.no_grad():
        ends = model.to_space(model.latent(2, model.config.latent_dim, gen), space)  # (2, D)
        t = torch.linspace(0, 1, frames, device=model.device)[:, None]  # (frames, 1)
        points = interpolate_latents(ends[:1].expand(frames, -1), ends[1:].expand(frames, -1), t, space)
        images = model.render(points, space)  # (frames, C, S, S)
    if out.suffix.lower() == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        save_grid(images, out, nrow=frames)
    elif out.suffix == "":
        for i, frame in enumerate(to_uint8(images).cpu()):
            _write_image(frame, out / f"frame{i:04d}.png")
    else:
        raise GankitError(f"--interpolate writes a .png strip or a folder of frames, not {out.suffix}")
    print(f"wrote {frames} frames ({space} space) to {out}")


def cmd_sample(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from gankit import api
    from gankit.data import to_uint8
    from gankit.engine.artifacts import save_grid
    from gankit.sampling import sample_many

    if args.n < 1:
        raise GankitError(f"-n must be at least 1, got {args.n}")
    if args.batch_size < 1:
        raise GankitError(f"--batch-size must be at least 1, got {args.batch_size}")
    model = api.load(args.run, device=args.device)
    gen = torch.Generator(model.device).manual_seed(args.seed)
    out = Path(args.out)
    grid_verbs = {"traverse": "traversals", "attention": "attention_maps", "dmap": "discriminator_maps",
                  "mix": "mixing_grids"}
    asked = [verb for verb in grid_verbs if getattr(args, verb)]
    if asked:
        from gankit.inference import require

        if len(asked) > 1:
            raise GankitError(f"give one of --{', --'.join(grid_verbs)}, not {len(asked)}")
        verb = asked[0]
        require(model, verb)
        if out.suffix.lower() not in ("", ".png"):
            raise GankitError(f"--{verb} writes PNG grids: give --out a folder or a .png name")
        grids = getattr(model, grid_verbs[verb])(generator=gen)
        for name, (grid, nrow) in grids.items():
            path = (out / f"{verb}-{name}.png") if out.suffix == "" else out.with_name(f"{out.stem}-{name}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            save_grid(grid, path, nrow=nrow)
            print(f"wrote {path}")
        return
    if args.interpolate is not None:
        _write_interpolation(model, args.interpolate, args.space, gen, out)
        return
    labels = _parse_labels(args.label, model, args.n) if args.label is not None else None
    sampler = None
    if args.size is not None or args.start_scale is not None:
        sampler = _sized_sampler(model, args.size, args.start_scale)
    if args.truncation is not None:
        from functools import partial

        from gankit.inference import require

        require(model, "truncate")
        if args.truncation <= 0:
            raise GankitError(f"--truncation must be positive (e.g. 0.5), got {args.truncation}")
        sampler = partial(model.sample_truncated, threshold=args.truncation)
    images, labels = sample_many(model, args.n, batch_size=args.batch_size, generator=gen, labels=labels,
                                 sampler=sampler)
    if model.data_spec().frames:  # clips, frames stacked along channels
        _write_clips(images, labels, model.data_spec().frames, out)
        return
    if out.suffix.lower() == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        save_grid(images, out, nrow=model.grid_nrow(args.n) if args.label is None else None)
    elif out.suffix.lower() == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"images": to_uint8(images).permute(0, 2, 3, 1).numpy()}  # (N, H, W, C) uint8
        if labels is not None:
            arrays["labels"] = labels.cpu().numpy()
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, out)
    elif out.suffix == "":
        from PIL import Image

        out.mkdir(parents=True, exist_ok=True)
        pixels = to_uint8(images).permute(0, 2, 3, 1).numpy()
        for i, px in enumerate(pixels):
            Image.fromarray(px[..., 0] if px.shape[-1] == 1 else px).save(out / f"{i:06d}.png")
    else:
        raise GankitError(f"--out {out}: use a .png grid, a .npz file or a folder (no extension)")
    print(f"wrote {args.n} samples to {out}")


def _write_clips(images, labels, frames: int, out: Path) -> None:
    """A video model's samples (N, T*C, H, W): `.gif` one animated grid of the clips, a folder one GIF per
    clip, `.png` one clip per row, `.npz` uint8 images (N, T, H, W, C)."""
    import io

    import numpy as np

    from gankit.data import to_uint8
    from gankit.data.clips import frame_grid, save_gif, unstack_frames
    from gankit.engine.artifacts import save_grid
    from gankit.fileio import atomic_write_bytes

    clips = unstack_frames(images, frames)  # (N, T, C, H, W)
    pixels = to_uint8(clips.flatten(0, 1)).view(clips.shape)
    suffix = out.suffix.lower()
    if suffix == ".gif":
        save_gif(frame_grid(pixels), out)
    elif suffix == "":
        for i, clip in enumerate(pixels):
            save_gif(clip, out / f"{i:06d}.gif")
    elif suffix == ".png":
        save_grid(clips.flatten(0, 1), out, nrow=frames)
    elif suffix == ".npz":
        arrays = {"images": pixels.permute(0, 1, 3, 4, 2).numpy()}  # (N, T, H, W, C) uint8
        if labels is not None:
            arrays["labels"] = labels.cpu().numpy()
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, buf.getvalue())
    else:
        raise GankitError(f"--out {out}: clips go to a .gif (a grid of clips), a folder of GIFs, a .png or a .npz file")
    print(f"wrote {len(clips)} clips of {frames} frames to {out}")


def _sized_sampler(model, size_text: str | None, start_scale: int | None):
    """--size HxW / --start-scale K: the sampler of a generator of any size (singan)."""
    from functools import partial

    from gankit.inference import require

    require(model, "size")
    size = None
    if size_text is not None:
        try:
            h, w = (int(v) for v in size_text.lower().split("x"))
        except ValueError:
            raise GankitError(f"--size takes HEIGHTxWIDTH in pixels, e.g. 64x128, got {size_text!r}") from None
        if min(h, w) < 1:
            raise GankitError(f"--size {size_text}: both sides must be at least 1 pixel")
        size = (h, w)
    sample_at = partial(model.sample_at, size=size, start_scale=start_scale or 0)
    return lambda n, labels=None, generator=None: sample_at(n, generator=generator)


def _inject_and_write(args: argparse.Namespace, image, mask=None) -> None:
    """The single-image edits: run `image` (uint8 (C, H, W)) into the pyramid and write -n results."""
    from gankit import inference
    from gankit.engine.artifacts import save_grid

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise GankitError(f"--out {out}: give a .png name (-n > 1 writes a grid)")
    results = inference.inject(args.model, image, scale=args.scale, mask=mask, n=args.n, seed=args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.n == 1:
        _write_image(results[0], out)
    else:
        save_grid(results.float() / 127.5 - 1, out)
    print(f"wrote {out}")


def _single_image_run(args: argparse.Namespace, model=None):
    from gankit import api
    from gankit.inference import require

    model = api.load(args.run, device=args.device) if model is None else model
    require(model, "inject")
    if args.n < 1:
        raise GankitError(f"-n must be at least 1, got {args.n}")
    args.model = model
    return model


def cmd_paint2image(args: argparse.Namespace) -> None:
    from gankit.data.files import read_image

    model = _single_image_run(args)
    _inject_and_write(args, read_image(args.paint, model.data_spec().channels))


def cmd_edit(args: argparse.Namespace) -> None:
    """--mask: blend an edited image back into a pyramid (inject); --label: re-render it as other classes (relabel)."""
    from gankit import api
    from gankit.data.files import read_image
    from gankit.data.masks import read_mask
    from gankit.models.verbs import has_verb, models_with

    model = api.load(args.run, device=args.device)
    flag, verb = ("--label", "relabel") if args.label is not None else ("--mask", "inject")
    if args.label is not None and args.mask is not None:
        raise GankitError("give --mask (a region to blend back) or --label (classes to re-render as), not both")
    if args.label is None and args.mask is None:
        raise GankitError(f"give --mask (models that take images into a pyramid: {models_with('inject')}) or --label "
                          f"(models that relabel: {models_with('relabel')})")
    if not has_verb(model, verb):
        raise GankitError(f"{model.name} cannot edit with {flag}: --mask edits need {models_with('inject')}, "
                          f"--label edits need {models_with('relabel')}")
    if verb == "inject":
        model = _single_image_run(args, model)
        image = read_image(args.image, model.data_spec().channels)
        _inject_and_write(args, image, mask=read_mask(args.mask, *image.shape[-2:])[0])
        return
    _relabel_and_write(args, model)


def _relabel_and_write(args: argparse.Namespace, model) -> None:
    from gankit import inference
    from gankit.data.files import read_image

    if args.scale is not None or args.n != 1:
        raise GankitError("--scale and -n are for --mask edits; a --label edit gives one image per class")
    num_classes = model.data_spec().num_classes
    try:
        labels = [int(v) for v in args.label.split(",") if v.strip()]
    except ValueError:
        raise GankitError(f"--label takes class numbers such as 3 or 1,2,3, got {args.label!r}") from None
    if not labels or any(not 0 <= k < num_classes for k in labels):
        raise GankitError(f"--label {args.label}: classes are 0..{num_classes - 1}")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise GankitError(f"--out {out}: give a .png name (several labels write NAME_K.png each)")
    results = inference.relabel(model, read_image(args.image, model.data_spec().channels), labels)  # (L, C, S, S)
    paths = [out] if len(labels) == 1 else [out.with_name(f"{out.stem}_{k}.png") for k in labels]
    for image, path in zip(results, paths):
        _write_image(image, path)
        print(f"wrote {path}")


def cmd_harmonize(args: argparse.Namespace) -> None:
    import torch

    from gankit import inference
    from gankit.data import to_uint8
    from gankit.data.files import read_alpha, read_image

    model = _single_image_run(args)
    channels = model.data_spec().channels
    background = read_image(args.background, channels) if args.background else to_uint8(model.image)[0]
    obj = read_image(args.paste, channels)
    alpha = read_alpha(args.paste)  # (1, h, w) uint8: the cut-out, when the file has one
    if alpha is not None:
        obj = torch.cat([obj, alpha])
    at = None
    if args.at:
        try:
            x, y = (int(v) for v in args.at.split(","))
        except ValueError:
            raise GankitError(f"--at takes X,Y in pixels from the top-left corner, got {args.at!r}") from None
        at = (x, y)
    composite, mask = inference.paste(background, obj, at)
    _inject_and_write(args, composite, mask=mask)


def _parse_labels(text: str, model, n: int):
    import torch

    spec = model.data_spec()
    if model.grid_labels(1) is None:  # a model that draws by class shows its classes in the grid
        raise GankitError(f"{model.name} does not generate by class: drop --label")
    try:
        wanted = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GankitError(f"--label takes class numbers such as 7 or 1,2,3, got {text!r}") from None
    bad = [v for v in wanted if not 0 <= v < spec.num_classes]
    if not wanted or bad:
        raise GankitError(f"--label {text}: classes are 0..{spec.num_classes - 1}")
    return torch.tensor(wanted).repeat((n + len(wanted) - 1) // len(wanted))[:n]  # (n,) cycling the list


def _load_for(args: argparse.Namespace, verb: str):
    from gankit import api
    from gankit.data.files import read_inputs
    from gankit.inference import require

    model = api.load(args.run, device=args.device)
    require(model, verb)
    return model, read_inputs(args.images, model.data_spec().image_size, model.input_channels(verb))


def cmd_classify(args: argparse.Namespace) -> None:
    from gankit import inference

    model, inputs = _load_for(args, "classify")
    logits = inference.classify(model, inputs.images, batch_size=args.batch_size)  # (N, K)
    pred = logits.argmax(1)
    rows = ["image,class,confidence"] + [
        f"{name},{int(c)},{float(p):.4f}" for name, c, p in zip(inputs.names, pred, logits.softmax(1).amax(1))
    ]
    if args.out:
        from gankit.fileio import atomic_write_text

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), "\n".join(rows) + "\n")
        print(f"wrote {len(pred)} predictions to {args.out}")
    else:
        print("\n".join(rows[: 1 + args.show]))
        if len(pred) > args.show:
            print(f"... {len(pred) - args.show} more (write them all with --out FILE.csv)")
    if inputs.labels is not None:
        print(f"accuracy {(pred == inputs.labels).float().mean().item():.4f} on {len(pred)} images "
              "(labels from the subfolder names)")


def cmd_encode(args: argparse.Namespace) -> None:
    import numpy as np

    from gankit import inference

    model, inputs = _load_for(args, "encode")
    codes = inference.encode(model, inputs.images, batch_size=args.batch_size)  # (N, D)
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise GankitError(f"--out {out}: codes are written to an .npz file")
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"codes": codes.numpy(), "names": np.array(inputs.names)}
    if inputs.labels is not None:
        arrays["labels"] = inputs.labels.numpy()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, out)
    print(f"wrote {tuple(codes.shape)} codes of {len(codes)} images to {out}")


def _input_files(source: Path) -> tuple[list[Path], list[Path]]:
    """A file, or every image under a folder, with the .png names their outputs get (relative paths kept)."""
    from gankit.data.folder import IMAGE_EXTENSIONS, find_images

    if not source.is_dir():
        return [source], [Path(source.name).with_suffix(".png")]
    files = find_images(source)
    if not files:
        raise GankitError(f"no images found in {source} (looked recursively for {', '.join(IMAGE_EXTENSIONS)})")
    return files, [f.relative_to(source).with_suffix(".png") for f in files]


def _read_input_files(source: Path, channels: int):
    """`_input_files` read: in a folder, files that are not images are skipped with one counted warning
    (as classify and encode do); a single named file that is not one is an error."""
    from gankit.data.files import read_each, read_image

    files, names = _input_files(source)
    if not source.is_dir():
        return [read_image(files[0], channels)], files, names
    images, kept = read_each(files, channels, source)
    return images, [files[i] for i in kept], [names[i] for i in kept]


def _write_image(image, path: Path) -> None:
    """uint8 (C, H, W) to an image file."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    px = image.permute(1, 2, 0).numpy()
    Image.fromarray(px[..., 0] if px.shape[-1] == 1 else px).save(path)


def cmd_translate(args: argparse.Namespace) -> None:
    from gankit import api, inference

    model = api.load(args.run, device=args.device)
    inference.require(model, "translate")
    spec = model.data_spec()
    channels = spec.channels if args.direction == "AtoB" else spec.channels_b
    images, files, names = _read_input_files(Path(args.input), channels)  # (C, H, W) uint8 each, own sizes
    out = Path(args.out)
    for image, name in zip(inference.translate(model, images, args.direction, batch_size=args.batch_size), names):
        _write_image(image, out / name)
    print(f"translated {len(files)} image(s) {args.direction} into {out}")


def cmd_inpaint(args: argparse.Namespace) -> None:
    from gankit import api, inference
    from gankit.data.masks import parse_box, read_mask

    if args.box and args.mask:
        raise GankitError("give the hole either as --box x,y,w,h or as --mask MASK.png, not both")
    model = api.load(args.run, device=args.device)
    inference.require(model, "inpaint")
    images, files, names = _read_input_files(Path(args.input), model.data_spec().channels)  # (C, H, W) uint8 each
    box = parse_box(args.box) if args.box else None
    out = Path(args.out)
    for image, f, name in zip(images, files, names):
        h, w = image.shape[-2:]
        mask = read_mask(args.mask, h, w)[0] if args.mask else None  # (1, H, W), 1 = hole
        try:
            result = inference.inpaint(model, image, box=box, mask=mask)
        except GankitError as exc:
            raise GankitError(f"{f}: {exc}") from None
        _write_image(result, out / name)
    print(f"inpainted {len(files)} image(s) into {out}")


def cmd_project(args: argparse.Namespace) -> None:
    from safetensors.torch import save_file

    from gankit import api
    from gankit.data.core import fit_images
    from gankit.data.files import read_image
    from gankit.evaluation import default_extractor
    from gankit.inference import require
    from gankit.projection import project

    model = api.load(args.run, device=args.device)
    require(model, "interpolate")
    spec = model.data_spec()
    target = fit_images(read_image(args.image, spec.channels)[None], spec.image_size, spec.channels)[0]
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise GankitError(f"--out {out}: give a .png name for the reconstruction (the latent goes beside it)")
    features = None
    source = api.read_run_config(args.run).get("data", {}).get("source", "")
    if default_extractor(source).startswith("lenet") and not args.pixels_only:
        from gankit.metrics.extractors import get_extractor

        ext = get_extractor(default_extractor(source)).to(model.device)
        features = lambda images: ext(ext.prepare(images))[0]  # noqa: E731  (differentiable, unlike .features)
    result = project(model, target, steps=args.steps, seed=args.seed, features=features)
    _write_image(result.image, out)
    latent_path = out.with_suffix(".safetensors")
    tmp = latent_path.with_name(f".{latent_path.name}.{os.getpid()}.tmp")
    save_file({result.space: result.latent.cpu().contiguous()}, str(tmp))
    os.replace(tmp, latent_path)
    print(f"projected {args.image} in {result.space} space: pixel MSE {result.start_mse:.4f} (mean latent) -> "
          f"{result.mse:.4f}; wrote {out} and {latent_path}")


def cmd_upscale(args: argparse.Namespace) -> None:
    from PIL import Image

    from gankit import api, inference
    from gankit.data.files import read_image, report_unreadable
    from gankit.data.folder import IMAGE_EXTENSIONS

    model = api.load(args.run, device=args.device)
    inference.require(model, "upscale")
    if args.tile is not None and args.tile < 4:
        raise GankitError(f"--tile must be at least 4 pixels, got {args.tile}")
    channels = model.input_channels("upscale")
    source, out = Path(args.input), Path(args.out)
    if not source.exists():
        raise GankitError(f"{source} does not exist: give an image file or a folder of images")
    files, names = _input_files(source)
    if not source.is_dir() and out.suffix.lower() in IMAGE_EXTENSIONS:  # one file to one named file
        targets = [out]
    else:
        targets = [out / name for name in names]
    unreadable = []  # in a folder, files that are not images are skipped and counted (as classify does)
    for f, target in zip(files, targets):  # one at a time: photos to upscale can be large
        try:
            image = read_image(f, channels)
        except GankitError:
            if not source.is_dir():
                raise
            unreadable.append(f)
            continue
        with Image.open(f) as img:  # the image's own channels (alpha aside): a gray photo is not made RGB
            found = 3 if img.mode == "P" else len([b for b in img.getbands() if b != "A"])
        if found != channels:
            raise GankitError(f"{f} has {found} channel(s) but {model.name} in {args.run} upscales {channels}-channel "
                              f"images: convert it to {'RGB' if channels == 3 else 'grayscale'} first")
        _write_image(inference.upscale(model, image, tile=args.tile), target)
    report_unreadable(unreadable, len(files), source)
    print(f"upscaled {len(files) - len(unreadable)} image(s) into {targets[0] if len(targets) == 1 and targets[0] == out else out}")


def cmd_playground(args: argparse.Namespace) -> None:
    from gankit.playground.server import serve

    if args.threads < 1:
        raise GankitError(f"--threads must be at least 1, got {args.threads}")
    try:
        serve(host=args.host, port=args.port, out=args.out, threads=args.threads, load=args.load,
              image_chunk=args.image_chunk, image_eval_every=args.image_eval_every)
    except KeyboardInterrupt:
        print("gankit playground: stopped", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> None:
    from gankit.evaluation import format_table

    metrics = [m.strip() for m in (args.metrics or "fid,kid,is,pr,dc").split(",") if m.strip()]
    if args.n < 1:
        raise GankitError(f"-n must be at least 1 (generated images), got {args.n}")
    extractor_kwargs = {"weights": args.inception_weights} if args.inception_weights else None
    if args.real or args.fake:
        if not (args.real and args.fake) or args.run:
            raise GankitError("compare two folders with --real DIR --fake DIR (and no run)")
        from gankit.data import load_folder
        from gankit.metrics import compare

        extractor = args.extractor or "inception-v3"
        size, channels = (28, 1) if extractor == "lenet-mnist" else (299, 3)
        real = load_folder(args.real, size, channels).images
        fake = load_folder(args.fake, size, channels).images
        kwargs = extractor_kwargs if extractor == "inception-v3" else None
        result = compare(real, fake, metrics, extractor=extractor, seed=args.seed, extractor_kwargs=kwargs)
        result["protocol"].update(real=str(args.real), fake=str(args.fake))
        _warn_if_too_few(result, min(len(real), len(fake)))
        print(format_table(result["metrics"]))
        if args.json:
            import json

            from gankit.fileio import atomic_write_text

            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(args.json), json.dumps(result, indent=2))
        return
    if not args.run:
        raise GankitError("name a run folder to evaluate, or --real DIR --fake DIR")
    from gankit import api
    from gankit.evaluation import evaluate_model, measure_capability, write_report

    model = api.load(args.run, device=args.device)
    info = api.read_run_config(args.run)
    spec = model.data_spec()
    if args.metrics is None and spec.needs_labels and not spec.semi_supervised:
        metrics.append("label_acc")  # a class-conditional G is judged on drawing the class asked for
    from gankit.data.sources import is_single_image

    one_image = is_single_image(str(info.get("data", {}).get("source", "")))
    # Scored against its own targets, its one image or held-out clips, in its capability.
    if spec.pairing != "none" or one_image or spec.frames:
        if args.metrics or args.no_capability:
            what = ("learns one image: it is scored by its capability on that image (reconstruction PSNR, SIFID, "
                    "diversity)" if one_image else "makes clips: it is scored by its capability on held-out clips "
                    "(identity over frames, frame FID, motion)" if spec.frames else "translates images: it is "
                    "scored by its capability (e.g. PSNR, SSIM, label accuracy, realism)")
            raise GankitError(f"{model.name} {what}, so drop --metrics and --no-capability")
        result = {"metrics": {}, "protocol": {"model": model.name, "split": args.split}}
    else:
        result = evaluate_model(model, info, metrics, n=args.n, extractor=args.extractor, split=args.split,
                                seed=args.seed, inception_weights=args.inception_weights)
    capability = {} if args.no_capability else measure_capability(model, info, args.split, baselines=args.baselines)
    if capability:
        result["capability"] = capability
    path = write_report(args.run, result)
    p = result["protocol"]
    if result["metrics"]:
        _warn_if_too_few(result, min(p["n_fake"], p["n_real"] or p["n_fake"]))
        print(f"{model.name}: {p['n_fake']} generated vs {p['n_real']} real ({p['reference']}), "
              f"extractor {p['extractor']} ({p['weights_hash']})")
        print(format_table(result["metrics"]))
    if capability:
        print(f"capability ({model.paper}, on the {args.split} split):")
        print(format_table(capability))
    print(f"wrote {path}")


def _warn_if_too_few(result: dict, n: int) -> None:
    """FID fits a covariance of the features: from fewer than about twice their dimension it is noise."""
    from gankit.metrics import extractors

    dim = getattr(extractors._EXTRACTORS.get(result["protocol"].get("extractor")), "feature_dim", 0)
    if dim and n < 2 * dim and any(k.startswith(("fid", "kid", "pr", "dc")) for k in result["metrics"]):
        print(f"gankit: warning: {n} images for {dim}-dimensional {result['protocol']['extractor']} features: the "
              f"FID (and KID, precision/recall) estimates are meaningless below about {2 * dim} images; use -n "
              f"{2 * dim} or more", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train, sample and evaluate GANs.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the registered variants, their papers, tasks and data").set_defaults(func=cmd_list)

    t = sub.add_parser("train", help="train a variant (or --resume a run)")
    t.add_argument("model", nargs="?", help="variant name, see `gankit list`")
    t.add_argument("--data", default="mnist", help="mnist (embedded), stacked-mnist (embedded: 3 digits as RGB, 1,000 modes), "
                   "fashion-mnist, cifar10, or an image folder; "
                   "translation: edges2digits, mnist-m (embedded), or a folder in the aligned or unaligned format; "
                   "single-image models (singan): one image file, or photo:NAME (a photo bundled with scikit-image)")
    t.add_argument("--data-dir", help="folder holding torchvision's dataset layout")
    t.add_argument("--max-images", type=int, help="train on the first N images only (quick experiments)")
    t.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"], help="translation data: which side is the input")
    t.add_argument("--augment", choices=["on", "off"],
                   help="translation data: random jitter (load at 286/256 x size, random crop) and mirroring "
                        "(default on for folders, off for the embedded digit tasks)")
    t.add_argument("--preset", help="a named config preset of the variant (e.g. tiny, cpu; paper: the paper's "
                   "settings; default on the embedded digit data: the preset its proof uses)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a model config value (repeatable; with --resume e.g. lr_d=0.0001)")
    t.add_argument("--out", default="runs", help="parent folder of run folders (default: runs)")
    t.add_argument("--name", help="run folder name (default: <model>-<time>)")
    t.add_argument("--resume", metavar="RUN", help="continue a run from its latest checkpoint")
    t.add_argument("--steps", type=int, help="total steps of the run (default 5000 if no budget is given)")
    t.add_argument("--epochs", type=float, help="budget in passes over the data")
    t.add_argument("--minutes", type=float, help="wall-clock budget of this invocation")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    t.add_argument("--ema", type=float, help="EMA decay of G's weights, e.g. 0.999 (default off)")
    t.add_argument("--lr-decay-from", type=float, metavar="FRACTION",
                   help="keep learning rates constant for this fraction of the run, then decay them linearly "
                        "to 0 (e.g. 0.5, CycleGAN's schedule; default: the variant's, else off)")
    t.add_argument("--amp", choices=["on", "off"], help="mixed precision on CUDA (default on)")
    t.add_argument("--sample-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--log-every", type=int)
    t.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
    t.add_argument("--eval-every", type=int, help="evaluate FID every N steps into the log and plots (default off)")
    t.add_argument("--eval-n", type=int, help="generated images per in-training evaluation (default 2000)")
    t.add_argument("--progress", choices=["auto", "on", "off"])
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run", help="run folder")
    s.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", required=True, help="grid.png, a folder of PNGs, or file.npz; video models: clips.gif (a grid of clips), a folder of GIFs, or .npz of (N, T, H, W, C)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--batch-size", type=int, default=500)
    s.add_argument("--device", default="auto")
    s.add_argument("--label", help="class-conditional models: the class(es) to draw, e.g. 7 or 1,2,3 (cycled); "
                   "default a class-per-row grid")
    s.add_argument("--traverse", action="store_true", help="models with latent codes: write code-traversal grids")
    s.add_argument("--truncation", type=float, help="models with a truncated sampler: biggan redraws every z "
                   "value beyond +-T; stylegan pulls w towards the mean style, w_avg + T (w - w_avg) (smaller T: "
                   "more typical, less varied images)")
    s.add_argument("--mix", action="store_true", help="style-based models (stylegan): write style-mixing grids, one "
                   "per crossover (rows: coarse styles from one latent; columns: fine styles from another)")
    s.add_argument("--interpolate", type=int, metavar="N", help="models with a latent: write N frames from the "
                   "latent of --seed's first draw to its second (a .png strip or a folder of frames)")
    s.add_argument("--space", help="with --interpolate: the latent space to walk (z: slerp; w: lerp; default: the "
                   "model's last, w for stylegan)")
    s.add_argument("--dmap", action="store_true", help="models with a per-pixel D (unetgan): write D's maps of "
                   "real/fake CutMix images (real | fake | mix | true mask | D's map, white = judged real)")
    s.add_argument("--attention", action="store_true", help="models with self-attention (sagan): write G's "
                   "attention maps (per sample: the image, three query points, where each attends)")
    s.add_argument("--size", metavar="HxW", help="generators of any size (singan): the output size, e.g. 64x128 "
                   "(default: the training image's)")
    s.add_argument("--start-scale", type=int, metavar="K", help="singan: fresh noise from pyramid scale K up, the "
                   "scales below reconstruct the training image (0 = coarsest, the most diverse; default 0)")
    s.set_defaults(func=cmd_sample)

    edits = (("paint2image", "turn a rough painting into an image like the run's one training image (singan)",
              cmd_paint2image),
             ("edit", "edit an image: --mask blends an edited copy of the training image back into its patch "
              "statistics (singan); --label re-renders it as other classes, keeping its style (icgan)", cmd_edit),
             ("harmonize", "paste an object onto the training image and match it to the image's look (singan)",
              cmd_harmonize))
    for verb, help_text, func in edits:
        p = sub.add_parser(verb, help=help_text)
        p.add_argument("run")
        if verb == "paint2image":
            p.add_argument("paint", help="the painting (any size; resized to the training image's shape)")
        elif verb == "edit":
            p.add_argument("image", help="with --mask: the edited image (e.g. the training image with a region "
                           "moved); with --label: the image to re-render (resized to the model's size)")
            p.add_argument("--mask", help="models that take images into a pyramid (singan): an image of the same "
                           "size, white where it was edited")
            p.add_argument("--label", help="models that relabel (icgan): the class to re-render the image as, or a "
                           "comma list (one output per class: --out NAME.png writes NAME_K.png)")
        else:
            p.add_argument("--paste", required=True, help="the object: a PNG whose alpha channel cuts it out "
                           "(without one, its whole rectangle is pasted)")
            p.add_argument("--at", metavar="X,Y", help="its top-left corner in the background (default: centred)")
            p.add_argument("--background", help="paste onto this image instead of the run's training image")
        p.add_argument("--out", required=True, help="a .png (with -n > 1: a grid of the results" +
                       ("; with --label 1,2: NAME_1.png, NAME_2.png)" if verb == "edit" else ")"))
        p.add_argument("--scale", type=int, help="the pyramid scale the image enters at, 1 (coarse: freer) .. the "
                       "finest (faithful); default: the middle scale")
        p.add_argument("-n", type=int, default=1, help="results with different noise (default 1)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default="auto")
        p.set_defaults(func=func)

    e = sub.add_parser("eval", help="score a run (FID, KID, IS, precision/recall, density/coverage)")
    e.add_argument("run", nargs="?", help="run folder")
    e.add_argument("--metrics", help="comma list of fid, kid, is, pr, dc, label_acc, ppl (default: the first five, "
                   "plus label_acc for class-conditional models; ppl: perceptual path length in each latent space, "
                   "on -n pairs)")
    e.add_argument("-n", type=int, default=10_000, help="generated images (default 10000)")
    e.add_argument("--extractor", help="lenet-mnist (default for MNIST runs) or inception-v3")
    e.add_argument("--inception-weights", metavar="FILE", help="pt_inception-2015-12-05 weights file, for offline use")
    e.add_argument("--split", default="test", help="held-out split of a named dataset (default test)")
    e.add_argument("--real", help="folder of real images (with --fake, compares two folders)")
    e.add_argument("--fake", help="folder of generated images")
    e.add_argument("--json", help="with --real/--fake: also write the result to this file")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.add_argument("--baselines", action="store_true",
                   help="also measure what the capability is judged against (e.g. a classifier on the labels alone)")
    e.add_argument("--no-capability", action="store_true", help="skip the variant's own capability measurement")
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser("classify", help="classify images with a trained run's classifier (e.g. sgan)")
    c.add_argument("run", help="run folder")
    c.add_argument("images", help="an image file, a folder (integer subfolder names count as labels) or an .npz")
    c.add_argument("--out", help="write every prediction to this CSV file")
    c.add_argument("--show", type=int, default=20, help="predictions printed without --out (default 20)")
    c.add_argument("--batch-size", type=int, default=500)
    c.add_argument("--device", default="auto")
    c.set_defaults(func=cmd_classify)

    tr = sub.add_parser("translate", help="translate an image or a folder with a trained translation run")
    tr.add_argument("run", help="run folder")
    tr.add_argument("input", help="an image file or a folder of images (any size; padded to what the network takes)")
    tr.add_argument("--out", required=True, help="output folder (same relative names, as PNG)")
    tr.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"], help="BtoA for two-way models")
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--device", default="auto")
    tr.set_defaults(func=cmd_translate)

    n = sub.add_parser("encode", help="map images to latent codes with a trained run's encoder (e.g. aae, bigan)")
    n.add_argument("run", help="run folder")
    n.add_argument("images", help="an image file, a folder or an .npz")
    n.add_argument("--out", required=True, help="codes.npz (arrays: codes, names, and labels when known)")
    n.add_argument("--batch-size", type=int, default=500)
    n.add_argument("--device", default="auto")
    n.set_defaults(func=cmd_encode)

    ip = sub.add_parser("inpaint", help="fill a hole in an image or a folder with a trained inpainting run")
    ip.add_argument("run", help="run folder")
    ip.add_argument("input", help="an image file or a folder of images, each at least the model's size")
    ip.add_argument("--out", required=True, help="output folder (same relative names, as PNG)")
    ip.add_argument("--box", metavar="x,y,w,h", help="the hole in pixels from the top-left corner "
                    "(default: the model's trained hole, centred)")
    ip.add_argument("--mask", metavar="MASK.png", help="the hole as an image of the same size, white = fill")
    ip.add_argument("--device", default="auto")
    ip.set_defaults(func=cmd_inpaint)

    up = sub.add_parser("upscale", help="super-resolve an image or a folder with a trained super-resolution run")
    up.add_argument("run", help="run folder")
    up.add_argument("input", help="an image file or a folder of images (any size; large ones are tiled)")
    up.add_argument("--out", required=True, help="output folder (same relative names, as PNG), or a .png file "
                    "for a single input")
    up.add_argument("--tile", type=int, help="tile side in input pixels for large images (default: the model's)")
    up.add_argument("--device", default="auto")
    up.set_defaults(func=cmd_upscale)

    pg = sub.add_parser("playground", help="train a 2-D GAN live in the browser (GAN Lab with gankit's losses)")
    pg.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0: any free port)")
    pg.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    pg.add_argument("--out", default="runs", help="folder that Save run writes into (default runs)")
    pg.add_argument("--load", metavar="RUN", help="start from a run saved by the page's Save run")
    pg.add_argument("--threads", type=int, default=1, help="CPU threads for training (default 1)")
    pg.add_argument("--image-chunk", type=int, default=200, help="image mode: training steps between grids "
                    "(default 200)")
    pg.add_argument("--image-eval-every", type=int, default=1000, help="image mode: steps between "
                    "fid[lenet-mnist] evaluations (default 1000; 0: off)")
    pg.set_defaults(func=cmd_playground)

    pr = sub.add_parser("project", help="find the latent of a real image (StyleGAN2's projector) and write the "
                        "reconstruction")
    pr.add_argument("run", help="run folder of a generator with a latent (e.g. stylegan, stylegan2, dcgan)")
    pr.add_argument("image", help="an image file (fitted to the model's size and channels)")
    pr.add_argument("--out", required=True, help="the reconstruction, a .png; the latent is written beside it "
                    "as .safetensors")
    pr.add_argument("--steps", type=int, default=500, help="optimisation steps (default 500)")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--pixels-only", action="store_true", help="match pixels only (default for digit runs: "
                    "pixels plus lenet features)")
    pr.add_argument("--device", default="auto")
    pr.set_defaults(func=cmd_project)
    return parser


def _gankit_warnings(show):
    """gankit's own warnings as one `gankit: warning:` line; others (torch's) as Python shows them."""
    package = Path(__file__).resolve().parent

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and Path(filename).resolve().is_relative_to(package):
            print(f"gankit: warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    return show_warning


def main(argv: list[str] | None = None) -> int:
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    shown, warnings.showwarning = warnings.showwarning, _gankit_warnings(warnings.showwarning)
    try:
        args.func(args)
    except TrainingInterrupted as exc:  # a checkpoint was written: not an error, but not a finished run either
        print(f"gankit: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted; resume from the last checkpoint with `gankit train --resume RUN`", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown
    return 0


if __name__ == "__main__":
    sys.exit(main())
