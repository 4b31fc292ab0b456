"""Checks of 17_tracking: Detection vs tracking: following lesions through frames."""
from __future__ import annotations

import torch

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, expect_tensor
from medgrade.properties import call, check_property, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "17_tracking"


def _hu(case) -> torch.Tensor:
    """The case's image in Hounsfield units, made from its seed."""
    return tensor_from_seed(case["shape"], case["seed"], low=S.HU_MIN, high=S.HU_MAX,
                            dtype=norm_dtype(case["dtype"]))


def _tolerance(dtype: torch.dtype, width: float) -> dict:
    """The rounding of (hu - lower) / width in the image's dtype: a few ulps of the largest
    difference in HU, over the width. A real mistake (no clipping, a window shifted by half its
    width) is off by 0.1 or more."""
    return dict(rtol=0.0, atol=8 * torch.finfo(dtype).eps * (1.0 + 2 * (S.HU_MAX - S.HU_MIN) / width))


_showing_inputs = showing(lambda case: {"hu": _hu(case), "level": case["level"], "width": case["width"]})


# ---------------------------------------------------------------- ct_window_a17

@aspect(A, task="ct_window_a17", points=2)
def ct_window_a17_correct(ct_window_a17):
    """ct_window_a17 is 0 below the window, 1 above it and linear in between, for every level and width."""

    @_showing_inputs
    def same_as_reference(case):
        hu = _hu(case)
        expected = oracles.ct_window_a17(hu, case["level"], case["width"])
        got = call(ct_window_a17, hu, case["level"], case["width"])
        assert_close(got, expected, **_tolerance(hu.dtype, case["width"]), what="the windowed image")

    yield check_property(
        "equals the clipped linear map of the window for every level and width, float32 and float64",
        S.window_cases(), same_as_reference, max_examples=100,
        examples=[{"shape": (4, 4), "dtype": "float32", "level": 40, "width": 400, "seed": 1},     # soft tissue
                  {"shape": (3, 5), "dtype": "float64", "level": -600, "width": 1500, "seed": 2},  # lung
                  {"shape": (2, 3, 3), "dtype": "float32", "level": 400, "width": 1800, "seed": 3},
                  {"shape": (8,), "dtype": "float64", "level": 0, "width": 1, "seed": 4}])         # a threshold


@aspect(A, task="ct_window_a17", points=1)
def ct_window_a17_contract(ct_window_a17):
    """ct_window_a17 keeps the input's shape and dtype (a slice, a volume, an empty tensor) and leaves it unchanged."""

    @_showing_inputs
    def keeps_shape_dtype_and_input(case):
        hu = _hu(case)
        before = hu.clone()
        got = call(ct_window_a17, hu, level=case["level"], width=case["width"])
        expect_tensor(got, what="ct_window_a17's result", shape=hu.shape, dtype=hu.dtype)
        if not torch.equal(hu, before):
            raise CheckFailed("ct_window_a17 modified its input hu in place: it must return a new tensor "
                              "and leave hu as it was")

    yield check_property(
        "the input's shape and dtype, any number of dimensions (none, or an empty one), keyword arguments, "
        "the input unchanged",
        S.window_cases(min_side=0, max_dims=4), keeps_shape_dtype_and_input, max_examples=30,
        examples=[{"shape": (2, 3, 4), "dtype": "float64", "level": 40, "width": 400, "seed": 5},
                  {"shape": (0, 3), "dtype": "float32", "level": 40, "width": 400, "seed": 6},
                  {"shape": (), "dtype": "float64", "level": -600, "width": 1500, "seed": 7}])
