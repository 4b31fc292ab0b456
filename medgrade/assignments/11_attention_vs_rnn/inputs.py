"""Input generators of 11_attention_vs_rnn: strategies draw small descriptions (sizes, a dtype, which mask, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

BIASES = ("both", "ih", "hh", "none")


@st.composite
def cell_cases(draw, max_side: int = 6):
    """One recurrent step: batch B, input size I, hidden size H, which biases exist, a state or None."""
    return {"batch": draw(st.integers(1, 4)), "inp": draw(st.integers(1, max_side)),
            "hidden": draw(st.integers(1, max_side)), "bias": draw(st.sampled_from(BIASES)),
            "state": draw(st.booleans()), "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


@st.composite
def sequence_cases(draw):
    """A sequence of T slices for an LSTM: (T, B, F), hidden size H, biases, an initial state or None."""
    return {"steps": draw(st.integers(1, 12)), **draw(cell_cases(max_side=5))}


MASKS = ("none", "bool", "float", "causal")
# how a mask of shape (..., L, S) is given: just (L, S), with every leading dimension, with ones in them, or
# one row for every query ((..., 1, S): a mask of keys)
MASK_SHAPES = ("LS", "full", "ones", "keys")


def _length(max_len: int, long_len: int):
    """A sequence length: mostly short, sometimes long (a mistake that shows only past some length: a loop
    over blocks of queries, a branch on the size)."""
    return st.one_of(st.integers(1, max_len), st.integers(1, max_len), st.integers(max_len + 1, long_len))


@st.composite
def attention_cases(draw, masks=MASKS, dtypes=NORM_DTYPES, max_len: int = 7, long_len: int = 48):
    """q (..., L, E), k (..., S, E), v (..., S, Ev) with 0 to 2 leading dimensions, a mask kind and shape,
    a scale or None; L and S from 1 to ``max_len``, a third of them up to ``long_len``. Boolean masks keep at
    least one key per query (the fully masked rows are an edge case of their own); float masks hold finite
    values and some -inf, never a whole row of them."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    mask = draw(st.sampled_from(masks))
    return {"lead": lead, "L": draw(_length(max_len, long_len)), "S": draw(_length(max_len, long_len)),
            "E": draw(st.integers(1, 8)), "Ev": draw(st.integers(1, 6)), "mask": mask,
            "mask_shape": draw(st.sampled_from(MASK_SHAPES)) if mask in ("bool", "float") else "LS",
            "scale": draw(st.one_of(st.none(), st.sampled_from([0.0, 0.05, 0.3, 1.0, 2.5]))),
            "dtype": draw(st.sampled_from(dtypes)), "seed": draw(seeds)}


@st.composite
def dead_row_cases(draw):
    """Attention where some queries have no key left: a boolean or an additive (-inf) mask that removes
    whole rows, or no keys at all (S = 0)."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    no_keys = draw(st.booleans()) and draw(st.booleans())
    return {"lead": lead, "L": draw(st.integers(1, 6)), "S": 0 if no_keys else draw(st.integers(1, 6)),
            "E": draw(st.integers(1, 6)), "Ev": draw(st.integers(1, 5)),
            "mask": draw(st.sampled_from(["bool", "float", "none"])) if no_keys
            else draw(st.sampled_from(["bool", "float"])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


@st.composite
def causal_cases(draw):
    """Causal self-attention of T positions (2 to 9, sometimes up to 40), asked three ways (is_causal, a boolean
    triangle, an additive one), and the output position t whose dependence on later inputs is measured."""
    steps = draw(st.one_of(st.integers(2, 9), st.integers(2, 9), st.integers(10, 40)))
    return {"lead": tuple(draw(st.lists(st.integers(1, 2), min_size=0, max_size=2))), "T": steps,
            "E": draw(st.integers(1, 6)), "Ev": draw(st.integers(1, 5)),
            "how": draw(st.sampled_from(["is_causal", "bool", "float"])),
            "t": draw(st.integers(0, steps - 2)), "seed": draw(seeds)}


@st.composite
def large_logit_cases(draw):
    """Scores of 1e3 to 1e4 whose differences within a row are of order 1, or (``spread``) in the hundreds or
    thousands; no mask, a boolean one, or causal."""
    return {"lead": tuple(draw(st.lists(st.integers(1, 2), min_size=0, max_size=1))),
            "mask": draw(st.sampled_from(["none", "none", "bool", "causal"])), "spread": draw(st.booleans()),
            "L": draw(st.integers(1, 6)), "S": draw(st.integers(2, 6)), "E": draw(st.integers(2, 8)),
            "Ev": draw(st.integers(1, 4)), "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


@st.composite
def permutation_cases(draw):
    """Attention on sequences of up to 64 positions, with or without a boolean mask, and two permutations."""
    return {"L": draw(st.integers(1, 64)), "S": draw(st.integers(1, 64)), "E": draw(st.integers(1, 8)),
            "Ev": draw(st.integers(1, 4)), "mask": draw(st.booleans()), "seed": draw(seeds)}


@st.composite
def head_cases(draw):
    """A (B, L, E) tensor and a number of heads dividing E."""
    heads = draw(st.integers(1, 4))
    return {"batch": draw(st.integers(1, 3)), "L": draw(st.integers(1, 5)), "heads": heads,
            "head_dim": draw(st.integers(1, 4)), "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


@st.composite
def mha_cases(draw):
    """Multi-head attention: B, L, S, heads and head size, self- or cross-attention, biases, masks."""
    return {"batch": draw(st.integers(1, 3)), "L": draw(st.integers(1, 6)), "S": draw(st.integers(1, 6)),
            "heads": draw(st.integers(1, 4)), "head_dim": draw(st.integers(1, 4)),
            "self": draw(st.booleans()), "bias": draw(st.booleans()), "padding": draw(st.booleans()),
            "attn_mask": draw(st.sampled_from(["none", "bool", "float"])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


@st.composite
def encoding_cases(draw):
    """A length (mostly short, some in the thousands), a dimension (odd ones and 1 included), a base, a dtype."""
    length = draw(st.one_of(st.integers(0, 40), st.integers(1000, 5000)))
    return {"length": length, "dim": draw(st.integers(1, 64)),
            "base": draw(st.sampled_from([10000.0, 1000.0, 500.0, 20000.0])),
            "dtype": draw(st.sampled_from(NORM_DTYPES))}
