"""Failure reports a student can read without seeing the checking code.

A property that does not hold raises :class:`CheckFailed` with a message that
says what was expected and what came back; the property runner adds the
shrunk counterexample. Nothing here prints a traceback.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

_MAX_ELEMENTS_SHOWN = 64


class WorkerLost(BaseException):
    """The process running the student's code hung, crashed or exited; the aspect fails.

    A BaseException, so Hypothesis does not shrink it: one lost worker ends
    the property at once instead of re-running a hang for every shrink step.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CheckFailed(AssertionError):
    """A graded property does not hold for one input."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def describe(value: Any) -> str:
    """A short, readable rendering of an input or an output."""
    if isinstance(value, torch.Tensor):
        head = f"tensor of shape {tuple(value.shape)}, {_dtype_name(value.dtype)}"
        if value.device.type != "cpu":
            head += f", on {value.device}"
        if value.numel() == 0:
            return head + " (empty)"
        if value.numel() <= _MAX_ELEMENTS_SHOWN:
            with np.printoptions(precision=4, suppress=True, linewidth=100, threshold=_MAX_ELEMENTS_SHOWN):
                body = np.array2string(value.detach().cpu().double().numpy() if value.is_floating_point()
                                       else value.detach().cpu().numpy())
            return head + ":\n" + _indent(body, 4)
        flat = value.detach().cpu().double().flatten()
        return head + f" (min {flat.min().item():.4g}, max {flat.max().item():.4g})"
    if isinstance(value, np.ndarray):
        return describe(torch.from_numpy(np.asarray(value)))
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "\n".join(f"{k} = {describe(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        return "\n".join(f"[{i}] {describe(v)}" for i, v in enumerate(value))
    text = repr(value)
    return text if len(text) < 400 else text[:400] + " ..."


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line for line in text.splitlines())


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def modified_in_place(name: str, who: str = "your function") -> str:
    """The message for a call that changed its input ``name`` in place."""
    return f"{who} modified its input {name} in place; it must leave its inputs as they were"


def wrong_device(what: str, expected: Any, got: Any) -> str:
    """The message for a tensor ``what`` found on device ``got`` instead of ``expected``."""
    return f"{what} should be on the input's device ({expected}), got {got}"


def wrong_dtype(what: str, expected: Any, got: Any) -> str:
    """The message for a tensor ``what`` of dtype ``got`` where ``expected`` (a dtype or words) was asked."""
    name = _dtype_name(expected)
    return f"{what} should be {'an' if name[:1] in 'aeio' else 'a'} {name} tensor, got dtype {_dtype_name(got)}"


def max_difference(worst: float, allowed: str) -> str:
    """How far a result is from the expected one: the largest difference, and the difference allowed."""
    return f"max difference {worst:.3g} (allowed {allowed})"


def expect_tensor(got: Any, *, what: str = "the result", shape=None, dtype=None) -> torch.Tensor:
    """Fail unless ``got`` is a plain ``torch.Tensor`` with this shape and dtype."""
    if type(got) is not torch.Tensor:
        raise CheckFailed(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(got.shape)}")
    if dtype is not None and got.dtype != dtype:
        raise CheckFailed(wrong_dtype(what, dtype, got.dtype))
    return got


def assert_close(got: Any, expected: torch.Tensor, *, rtol: float, atol: float,
                 what: str = "the result", check_dtype: bool = True) -> None:
    """Compare a student's tensor with the oracle's, reporting max difference and shapes.

    The comparison is done in float64, whatever the dtypes, so the tolerance
    is the one stated here and not the student's rounding.
    """
    expect_tensor(got, what=what, shape=expected.shape, dtype=expected.dtype if check_dtype else None)
    if got.device != expected.device:
        raise CheckFailed(wrong_device(what, expected.device, got.device))
    g = got.detach().double().cpu()
    e = expected.detach().double().cpu()
    if g.numel() == 0 or torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return
    g_nan, e_nan = torch.isnan(g), torch.isnan(e)
    if not torch.equal(g_nan, e_nan):
        raise CheckFailed(f"{what} has NaN where the reference has none (or the reverse)\n"
                          f"expected: {describe(expected)}\ngot:      {describe(got)}")
    g, e = g[~g_nan], e[~e_nan]
    diff = (g - e).abs()
    bad = diff > atol + rtol * e.abs()
    bad |= torch.isinf(g) != torch.isinf(e)
    if bool(bad.any()):
        worst = diff.nan_to_num(nan=math.inf).max().item()
        raise CheckFailed(
            f"{what} differs from the reference: {int(bad.sum())} of {g.numel()} elements are off, "
            f"{max_difference(worst, f'{atol:g} + {rtol:g} * |expected|')}\n"
            f"expected: {describe(expected)}\ngot:      {describe(got)}")


def assert_equal(got: Any, expected: Any, *, what: str = "the result") -> None:
    """Exact equality for tensors (shape, dtype, values) and plain values."""
    if isinstance(expected, torch.Tensor):
        expect_tensor(got, what=what, shape=expected.shape, dtype=expected.dtype)
        if not torch.equal(got.detach().cpu(), expected.detach().cpu()):
            raise CheckFailed(f"{what} differs from the reference\n"
                              f"expected: {describe(expected)}\ngot:      {describe(got)}")
        return
    if type(got) is bool or type(expected) is bool:
        same = type(got) is type(expected) and got == expected
    elif isinstance(expected, int):
        same = isinstance(got, numbers.Integral) and not isinstance(got, bool) and int(got) == expected
    else:
        same = type(got) is type(expected) and got == expected
    if not same:
        if type(got) is not type(expected) and not isinstance(expected, int):
            raise CheckFailed(f"{what}: expected a {type(expected).__name__} ({describe(expected)}), "
                              f"got a {type(got).__name__} ({describe(got)})")
        if isinstance(expected, int) and not (isinstance(got, numbers.Integral) and not isinstance(got, bool)):
            raise CheckFailed(f"{what}: expected the int {expected}, got a {type(got).__name__} ({got!r})")
        raise CheckFailed(f"{what}: expected {describe(expected)}, got {describe(got)}")
