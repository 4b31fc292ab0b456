"""The references of 17_tracking's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import numpy as np
import torch


def ct_window_a17(hu: torch.Tensor, level: float, width: float) -> torch.Tensor:
    """The display window by linear interpolation between its edges (np.interp holds the ends)."""
    edges = [level - width / 2, level + width / 2]
    values = np.interp(hu.detach().double().numpy().reshape(-1), edges, [0.0, 1.0])
    return torch.from_numpy(values).reshape(hu.shape).to(hu.dtype)
