"""`gankit project` on held-out digits: how close the projector gets, and whether the reconstruction
still shows the same digit.

    python benchmarks/projection.py RUN [--n 50] [--steps 500]

Projects the first `n` MNIST test digits (fitted to the run's size) into the run's last latent space
(w for StyleGAN) with pixel + lenet-feature matching, and writes
`benchmarks/results/proofs/projection-<model>.json` (pixel MSE from the mean latent and after
projection, the share of reconstructions lenet-mnist reads as the digit it reads in the original)
and `projection-<model>.png` (rows: originals, reconstructions).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import gankit
from gankit.data import load_data, to_signed_unit
from gankit.data.core import to_unit_range
from gankit.engine.artifacts import save_grid
from gankit.fileio import atomic_write_text
from gankit.metrics.extractors import get_extractor
from gankit.metrics.probes import digit_classes
from gankit.projection import project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "proofs"))
    args = parser.parse_args()
    model = gankit.load(args.run)
    spec = model.data_spec()
    digits = load_data("mnist", spec.image_size, spec.channels, split="test").images[: args.n]
    ext = get_extractor("lenet-mnist").to(model.device)
    features = lambda images: ext(ext.prepare(images))[0]  # noqa: E731
    start = time.perf_counter()
    results = [project(model, d, steps=args.steps, seed=i, features=features) for i, d in enumerate(digits)]
    recon = torch.stack([r.image for r in results])  # (n, C, S, S) uint8
    same = (digit_classes(to_unit_range(recon)) == digit_classes(to_unit_range(digits))).float().mean().item()
    row = {"model": model.name, "run": str(args.run), "n": args.n, "steps": args.steps,
           "mse_mean_latent": sum(r.start_mse for r in results) / len(results),
           "mse_projected": sum(r.mse for r in results) / len(results),
           "same_digit": same, "seconds": round(time.perf_counter() - start, 1),
           "command": f"python benchmarks/projection.py RUN --n {args.n} --steps {args.steps}"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"projection-{model.name}.json", json.dumps(row, indent=2))
    k = min(10, args.n)
    save_grid(torch.cat([to_signed_unit(digits[:k]), to_signed_unit(recon[:k])]), out / f"projection-{model.name}.png",
              nrow=k)
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
