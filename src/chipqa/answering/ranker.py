"""The fitted model that turns candidate features into a probability of being the answer, and its thresholds.

`ranker.json` beside this module holds logistic-regression weights for figure candidates and for sentences
(open questions), the probability below which chipqa abstains, and where the numbers came from. It is written
by `python -m chipqa.evaluation.fit` from the tune split of eval/dev only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from chipqa.core.errors import ConfigError


@dataclass(frozen=True)
class Linear:
    """A logistic model over named features."""

    weights: dict[str, float]
    bias: float
    threshold: float  # below this probability the best candidate is not shown as the answer

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(name, 0.0) * value for name, value in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Model:
    """Weights and thresholds of answer selection."""

    figure: Linear
    sentence: Linear
    # Another document's figure is shown as a conflicting report when it is at least this probable.
    conflict: float = 0.5
    provenance: dict[str, Any] = field(default_factory=dict)


def model_from_dict(data: dict[str, Any]) -> Model:
    try:
        return Model(
            figure=Linear(
                dict(data["figure"]["weights"]), float(data["figure"]["bias"]), float(data["figure"]["threshold"])
            ),
            sentence=Linear(
                dict(data["sentence"]["weights"]), float(data["sentence"]["bias"]), float(data["sentence"]["threshold"])
            ),
            conflict=float(data.get("conflict", 0.5)),
            provenance=dict(data.get("provenance", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the answer-selection model is malformed: {exc}") from None


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model:
    """The packaged model (or one at `path`); read once per process, it never changes while chipqa runs."""
    try:
        text = (
            Path(path).read_text("utf-8")
            if path
            else resources.files("chipqa.answering").joinpath("ranker.json").read_text("utf-8")
        )
        data = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the answer-selection model: {exc}") from None
    return model_from_dict(data)
