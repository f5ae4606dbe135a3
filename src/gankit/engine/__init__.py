"""Training loop, checkpoints, run artifacts and data parallelism."""

from gankit.engine.checkpoint import latest_checkpoint
from gankit.engine.trainer import TrainConfig, Trainer

__all__ = ["TrainConfig", "Trainer", "latest_checkpoint"]
