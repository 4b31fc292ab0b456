"""Tensors from seeds, and the dtypes the checks draw: shared by every assignment."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def tensor_from_seed(shape, seed: int, *, low: float = -1.0, high: float = 1.0,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform values in [low, high) drawn from ``seed``; the same seed gives the same tensor."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (high - low) + low).to(dtype)


NORM_DTYPES = ("float64", "float32")


def norm_dtype(name: str) -> torch.dtype:
    """``"float32"`` -> ``torch.float32`` (cases carry dtype names: they print well)."""
    return {"float32": torch.float32, "float64": torch.float64}[name]
