"""Sample-quality metrics: feature extractors, FID/KID/IS/PR/DC/label accuracy, real-stats cache.

from gankit.metrics import evaluate
result = evaluate(lambda b: model.sample(b), load_mnist("test")[0], real_key=("mnist", "test"))
result["metrics"]["fid[lenet-mnist]"]
"""

from gankit.metrics import inception, lenet  # noqa: F401  (each registers its extractor)
from gankit.metrics.evaluation import DEFAULT_METRICS, compare, evaluate, list_metrics
from gankit.metrics.extractors import Extractor, get_extractor, list_extractors, register_extractor
from gankit.metrics.functional import (
    density_coverage,
    fid,
    frechet_distance,
    gaussian_stats,
    inception_score,
    kid,
    label_accuracy,
    precision_recall,
)

__all__ = [
    "DEFAULT_METRICS",
    "Extractor",
    "compare",
    "density_coverage",
    "evaluate",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "get_extractor",
    "inception_score",
    "kid",
    "label_accuracy",
    "list_extractors",
    "list_metrics",
    "precision_recall",
    "register_extractor",
]
