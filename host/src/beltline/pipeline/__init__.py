"""The analysis pipeline: one module per stage, ``wiring.Pipeline`` composes them."""

from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap
from beltline.pipeline.settings import Settings
from beltline.pipeline.wiring import Diagnostics, Pipeline, StageParams

__all__ = ["Diagnostics", "Gap", "Output", "Pipeline", "Settings", "StageParams"]
