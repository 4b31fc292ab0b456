"""Input generators of 13_unet: strategies draw small descriptions (channels, sizes, a depth, a
padding, a seed); tensors and weights are made from the seed, so a counterexample is short to
print and exact to replay."""
from __future__ import annotations

import functools

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

from . import reference as R

PADDINGS = ("valid", "same")


@st.composite
def double_conv_cases(draw):
    """Channels, a padding and an input (batch, side lengths) big enough for two valid convolutions,
    its values in (-scale, scale): at scale 100 the activations pass 6, where a ReLU6 or a clamp
    would cut them."""
    padding = draw(st.sampled_from(PADDINGS))
    low = 5 if padding == "valid" else 1
    return {"in_channels": draw(st.integers(1, 5)), "out_channels": draw(st.integers(1, 6)),
            "padding": padding, "batch": draw(st.integers(1, 3)),
            "size": (draw(st.integers(low, 11)), draw(st.integers(low, 11))),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "scale": draw(st.sampled_from((1, 100))),
            "seed": draw(seeds)}


CROP_DTYPES = ("float32", "float64", "int64", "bool")


@st.composite
def crop_cases(draw):
    """A tensor (..., H, W) with 0 to 2 leading dimensions and a window no larger than it."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    h, w = draw(st.integers(1, 13)), draw(st.integers(1, 13))
    return {"shape": lead + (h, w), "height": draw(st.integers(1, h)), "width": draw(st.integers(1, w)),
            "dtype": draw(st.sampled_from(CROP_DTYPES)), "seed": draw(seeds)}


@functools.lru_cache(maxsize=None)
def _legal(depth: int, padding: str, high: int) -> tuple[int, ...]:
    return tuple(R.legal_sizes(depth, padding, 1, high))


@st.composite
def size_cases(draw, max_depth: int = 5, high: int = 1200):
    """A depth, a padding and an input side: half of the draws legal, the others anything >= 1."""
    depth = draw(st.integers(1, max_depth))
    padding = draw(st.sampled_from(PADDINGS))
    if draw(st.booleans()):
        size = draw(st.sampled_from(_legal(depth, padding, high)))
    else:
        size = draw(st.integers(1, high))
    return {"size": size, "depth": depth, "padding": padding}


def _small_legal(draw, depth: int, padding: str, extra: int) -> int:
    """One of the few smallest legal sides (the network stays cheap at every depth)."""
    sizes = _legal(depth, padding, 260)
    return draw(st.sampled_from(sizes[:extra]))


@st.composite
def unet_cases(draw, max_depth: int = 4, max_base: int = 3):
    """A small U-Net's arguments and a legal input (batch, H, W), H and W drawn separately."""
    depth = draw(st.integers(1, max_depth))
    padding = draw(st.sampled_from(PADDINGS))
    return {"in_channels": draw(st.integers(1, 3)), "num_classes": draw(st.integers(1, 3)),
            "depth": depth, "base_channels": draw(st.integers(1, max_base)), "padding": padding,
            "batch": draw(st.integers(1, 2)),
            "size": (_small_legal(draw, depth, padding, 4), _small_legal(draw, depth, padding, 4)),
            "seed": draw(seeds)}


@st.composite
def config_cases(draw, max_depth: int = 5, max_base: int = 8):
    """Arguments of UNet / unet_param_count small enough to build the network."""
    return {"in_channels": draw(st.integers(1, 4)), "num_classes": draw(st.integers(1, 5)),
            "depth": draw(st.integers(1, max_depth)), "base_channels": draw(st.integers(1, max_base))}


@st.composite
def padded_config_cases(draw):
    """UNet's arguments, a padding included."""
    return {**draw(config_cases()), "padding": draw(st.sampled_from(PADDINGS))}


@st.composite
def huge_config_cases(draw):
    """Arguments whose network would never fit in memory: only a formula can count it."""
    return {"in_channels": draw(st.integers(1, 10 ** 6)), "num_classes": draw(st.integers(1, 10 ** 6)),
            "depth": draw(st.integers(1, 40)), "base_channels": draw(st.integers(1, 10 ** 9))}
