"""Checks of 01_conv_arithmetic."""
from __future__ import annotations

from .. import oracles
from .. import strategies as S
from ..properties import call, check_property
from ..registry import aspect
from ..report import assert_equal

A = "01_conv_arithmetic"


@aspect(A, task="conv_output_size", points=2)
def conv_output_size_correct(conv_output_size):
    """conv_output_size equals torch's output length for every valid (n, k, s, p, d)."""

    def same_as_torch(g):
        got = call(conv_output_size, g["n"], g["k"], g["s"], g["p"], g["d"])
        assert_equal(got, oracles.conv_output_size(**g), what="output size")

    yield check_property(
        "output size equals torch's for every valid (n, k, s, p, d), dilation included",
        S.conv_geometry(), same_as_torch, max_examples=200,
        examples=[{"n": 5, "k": 3, "s": 1, "p": 0, "d": 1},     # the textbook case
                  {"n": 7, "k": 3, "s": 2, "p": 1, "d": 1},     # stride that does not divide
                  {"n": 1, "k": 1, "s": 1, "p": 0, "d": 1},     # a single pixel
                  {"n": 9, "k": 3, "s": 1, "p": 0, "d": 4}])    # dilation: span 9
