"""FitResult: what a search returns for one object, and how it is read off the best genome."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .candidates import Genomes, Scorer
from .pose import wrap_angle


@dataclass
class FitResult:
    method: str
    program: str
    parameters: dict
    yaw: float
    translation: np.ndarray  # (3,) world translation of the program's origin
    scale: float
    loss: float
    terms: dict
    evaluations: int
    seconds: float
    curve: list  # [(evaluations so far, best total loss)]


def result_from(scorer: Scorer, g: Genomes, method: str, evaluations: int, seconds: float, curve: list) -> FitResult:
    """FitResult of the first genome (re-scored once for its terms and translation)."""
    one = g.take([0])
    with torch.no_grad():
        r = scorer.score(one)
    space = scorer.space
    return FitResult(method=method, program=space.program.name,
                     parameters=space.to_dict(one.disc[0], one.unit[0]), yaw=float(wrap_angle(one.pose[0, 0])),
                     translation=r["translation"][0].double().numpy(), scale=float(math.exp(one.pose[0, 3])),
                     loss=float(r["total"][0]), terms={k: float(v[0]) for k, v in r.items()
                                                       if k not in ("total", "translation")},
                     evaluations=evaluations, seconds=seconds, curve=curve)
