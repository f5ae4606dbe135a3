"""Run under torchrun by test_ddp.py: trains a tiny GAN data-parallel, dumps each rank's weights."""

import sys

import torch.distributed as dist
from safetensors.torch import save_file

from gankit.api import train
from gankit.engine import distributed
from gankit.engine.trainer import Trainer

out = sys.argv[1]
seen = {}
original_fit = Trainer.fit


def fit_and_keep(self):
    result = original_fit(self)
    seen["model"] = self.model
    return result


Trainer.fit = fit_and_keep
run = train("gan", "mnist", out=out, name="ddp", preset="tiny", max_images=512, steps=6, batch_size=32,
            log_every=1, sample_every=3, checkpoint_every=3, device="cpu")
rank = dist.get_rank()
save_file({k: v.contiguous() for k, v in seen["model"].state_dict().items()}, f"{out}/rank{rank}.safetensors")
distributed.shutdown()
