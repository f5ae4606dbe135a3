"""`gankit playground`: a 2-D GAN trained live in the browser with gankit's own losses.

The headless core (`Playground`, `PlaygroundConfig`, the toy data and metrics) is plain Python and
torch; `gankit.playground.server` serves it to the page in `static/`.
"""

from gankit.playground.config import LOSSES, PlaygroundConfig, from_query, to_query
from gankit.playground.frames import decode_frame, encode_frame
from gankit.playground.session import OBJECTIVES, Playground
from gankit.playground.toy import TOY_DATASETS, make_toy, parse_csv

__all__ = ["LOSSES", "OBJECTIVES", "TOY_DATASETS", "Playground", "PlaygroundConfig", "decode_frame", "encode_frame",
           "from_query", "make_toy", "parse_csv", "to_query"]
