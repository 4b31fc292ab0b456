"""Input generators of 17_tracking: strategies draw small descriptions (a shape, a dtype, a window, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

# what a CT image holds: 12-bit values from below air to dense bone, in Hounsfield units
HU_MIN, HU_MAX = -1024.0, 3071.0


@st.composite
def window_cases(draw, min_side: int = 1, max_dims: int = 3):
    """An image (shape, dtype, seed) and a display window (level, width) in Hounsfield units."""
    dims = draw(st.integers(0 if min_side == 0 else 1, max_dims))
    shape = tuple(draw(st.lists(st.integers(min_side, 6), min_size=dims, max_size=dims)))
    return {"shape": shape,
            "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "level": draw(st.integers(-1000, 2000)),
            "width": draw(st.integers(1, 4000)),
            "seed": draw(seeds)}
