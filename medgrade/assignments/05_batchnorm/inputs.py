"""Input generators of 05_batchnorm: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds


@st.composite
def batchnorm_cases(draw, spatial: bool | None = None):
    """Batch-norm inputs: (N, C) or (N, C, H, W), momentum, eps, seed."""
    if spatial is None:
        spatial = draw(st.booleans())
    n = draw(st.integers(2, 8))
    c = draw(st.integers(1, 6))
    shape = (n, c, draw(st.integers(1, 5)), draw(st.integers(1, 5))) if spatial else (n, c)
    return {
        "shape": shape,
        "momentum": draw(st.sampled_from([0.1, 0.01, 0.5, 0.9, 1.0])),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
        "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
        "seed": draw(seeds),
    }


@st.composite
def batchnorm_typed_cases(draw, spatial: bool | None = None, dtypes=NORM_DTYPES):
    """:func:`batchnorm_cases` plus the dtype of every tensor of the call."""
    case = dict(draw(batchnorm_cases(spatial)))
    case["dtype"] = draw(st.sampled_from(dtypes))
    return case


@st.composite
def batchnorm_step_sequences(draw, max_steps: int = 5):
    """Successive training steps of one batch-norm layer.

    Layout, channel count and dtype are fixed for the sequence; each step has
    its own batch shape (often with only 2 values per channel: N*H*W = 2),
    momentum in [0, 1], offset, spread and seed.
    """
    spatial = draw(st.booleans())
    c = draw(st.integers(1, 5))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        if spatial:
            n, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
            if n * h * w < 2:
                n = 2
            shape = (n, c, h, w)
        else:
            shape = (draw(st.integers(2, 6)), c)
        steps.append({
            "shape": shape,
            "momentum": draw(st.floats(0.0, 1.0, allow_nan=False)),
            "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
            "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
            "seed": draw(seeds),
        })
    return {"channels": c, "dtype": draw(st.sampled_from(NORM_DTYPES)), "steps": steps,
            "seed": draw(seeds)}


@st.composite
def layernorm_cases(draw, min_lead: int = 0, max_lead: int = 2):
    """Layer-norm inputs: leading (batch) dims, 1-3 normalized dims and how
    ``normalized_shape`` is spelled (int, tuple, list or torch.Size), eps, dtype, seed."""
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=min_lead, max_size=max_lead)))
    norm = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    forms = ["tuple", "list", "size"] + (["int"] if len(norm) == 1 else [])
    return {
        "lead": lead, "normalized": norm, "form": draw(st.sampled_from(forms)),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
        "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
        "dtype": draw(st.sampled_from(NORM_DTYPES)),
        "seed": draw(seeds),
    }
