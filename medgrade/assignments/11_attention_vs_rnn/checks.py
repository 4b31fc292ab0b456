"""Checks of 11_attention_vs_rnn: the LSTM and GRU cells, an LSTM over slices, scaled dot-product attention
(values, fully masked rows, causality through autograd, large logits, permutation equivariance, speed),
splitting and merging heads, multi-head attention, sinusoidal positional encoding.

References run in float64 with the library's own modules holding the same parameters. Tolerances are
rounding bounds of the sums involved (a dot product of n terms is off by at most about n * eps times the sum
of the terms' sizes), times a small factor for the reference's own rounding; every mistake the chapter
discusses is off by 1e-2 or more."""
from __future__ import annotations

import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, expect_tensor, modified_in_place
from medgrade.properties import around, call, check_once, check_property, gradients, showing
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, measure_ratio

from . import inputs as S
from . import reference as oracles

A = "11_attention_vs_rnn"

# ---------------------------------------------------------------- refusing the library

# the reference of the timing aspect, bound when this module is imported
_TORCH_SDPA = F.scaled_dot_product_attention

_LIBRARY = [(F, "scaled_dot_product_attention", "F.scaled_dot_product_attention"),
            (F, "multi_head_attention_forward", "F.multi_head_attention_forward"),
            (nn.MultiheadAttention, "forward", "nn.MultiheadAttention"),
            (nn.LSTMCell, "forward", "nn.LSTMCell"), (nn.GRUCell, "forward", "nn.GRUCell"),
            (nn.LSTM, "forward", "nn.LSTM"), (nn.GRU, "forward", "nn.GRU"), (nn.RNN, "forward", "nn.RNN"),
            (torch, "lstm_cell", "torch.lstm_cell"), (torch, "gru_cell", "torch.gru_cell"),
            (torch, "lstm", "torch.lstm"), (torch, "gru", "torch.gru")]
# the same below Python: torch functions and aten operators however they are reached (torch._VF, torch.ops)
_LIBRARY_OPS = re.compile(
    r"(^|\.)(_?scaled_dot_product\w*|multi_head_attention_forward|_native_multi_head_attention|lstm|lstm_cell|"
    r"gru|gru_cell|rnn_tanh\w*|rnn_relu\w*|_thnn_fused_\w+|mkldnn_rnn\w*|_cudnn_rnn\w*|miopen_rnn\w*|"
    r"_flash_attention\w*|_efficient_attention\w*|_fused_sdp\w*|_transformer_encoder_layer_fwd)(\.|$)")
_HINT = "Write it with tensor operations (torch.softmax, matrix products and your own functions are fine)."


def _call(fn, *args, **kwargs):
    return call(fn, *args, forbid=_LIBRARY, forbid_ops=_LIBRARY_OPS, hint=_HINT, **kwargs)


# runs the student's function in its worker and reports what the call did besides returning its value
_WATCH = "medgrade.worker.probes:call_watched"


def _watched(fn, *args, new: bool = True, **kwargs):
    """The value of the student's call, after failing the property when the call modified an input in
    place (a tensor inside the state's tuple too), left a global setting changed (torch's default dtype,
    the gradient mode, the global random generator), or, with ``new``, returned a tensor that shares
    memory with an input or with what an earlier call returned (a cache)."""
    value, effects = _call(around(fn, _WATCH), *args, **kwargs)
    if effects["modified"]:
        raise CheckFailed(modified_in_place(effects["modified"][0]))
    if effects["globals"]:
        raise CheckFailed(f"your function changed {' and '.join(effects['globals'])}: it must leave global "
                          f"settings as it found them (give dtypes to the tensors you create instead)")
    if new and effects["aliased"]:
        raise CheckFailed(f"your function returned {effects['aliased']}: the result must be a new tensor "
                          f"(a caller that edits it in place would change that memory too)")
    return value


def _pair(got, what: str):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{what} should be a pair (tuple of two), got {type(got).__name__}")
    return got


def _raises_value_error(fn, *args, **kwargs) -> bool:
    try:
        _call(fn, *args, **kwargs)
    except CheckFailed as e:
        if "raised ValueError" in e.message:
            return True
        raise CheckFailed(f"{e.message}\n(ValueError was expected)") from None
    return False


# ---------------------------------------------------------------- recurrent cells

def _cell_tensors(case, gates: int):
    """x, weight_ih, weight_hh, bias_ih, bias_hh, h, c of one recurrent step; weights as torch initializes
    them, U(-1/sqrt(H), 1/sqrt(H))."""
    B, n_in, H, s = case["batch"], case["inp"], case["hidden"], case["seed"]
    dtype, k = norm_dtype(case["dtype"]), 1.0 / math.sqrt(case["hidden"])
    x = tensor_from_seed((B, n_in), s, low=-2.0, high=2.0, dtype=dtype)
    w_ih = tensor_from_seed((gates * H, n_in), s + 1, low=-k, high=k, dtype=dtype)
    w_hh = tensor_from_seed((gates * H, H), s + 2, low=-k, high=k, dtype=dtype)
    b_ih = (tensor_from_seed((gates * H,), s + 3, low=-k, high=k, dtype=dtype)
            if case["bias"] in ("both", "ih") else None)
    b_hh = (tensor_from_seed((gates * H,), s + 4, low=-k, high=k, dtype=dtype)
            if case["bias"] in ("both", "hh") else None)
    h = tensor_from_seed((B, H), s + 5, low=-1.0, high=1.0, dtype=dtype)
    c = tensor_from_seed((B, H), s + 6, low=-2.0, high=2.0, dtype=dtype)
    return x, w_ih, w_hh, b_ih, b_hh, h, c


def _bias_args(b_ih, b_hh, case):
    """Both biases positionally; one of them by keyword; none: the defaults."""
    if case["bias"] == "both":
        return (b_ih, b_hh), {}
    if case["bias"] == "ih":
        return (), {"bias_ih": b_ih}
    if case["bias"] == "hh":
        return (), {"bias_hh": b_hh}
    return (), {}


def _cell_tolerance(dtype, x, w_ih, w_hh, b_ih, b_hh, h_max: float, c_max: float, steps: int = 1) -> dict:
    """A gate's pre-activation is a sum of n = I + H + 2 products: rounding moves it by at most about
    n * eps * (the sum of the products' sizes), A below; sigmoid and tanh are 1-Lipschitz, and c' = f c + i g,
    h' = o tanh(c') multiply that by at most (2 + |c|). Over a sequence the errors add up step by step (the
    gates contract them), so T steps allow T times one step's error; times 4 for the reference's own rounding."""
    eps = torch.finfo(dtype).eps
    n = x.shape[-1] + w_hh.shape[1] + 2
    bound = (w_ih.double().abs().sum(1).max() * x.double().abs().max() + w_hh.double().abs().sum(1).max() * h_max
             + sum(b.double().abs().max() for b in (b_ih, b_hh) if b is not None)).item()
    return dict(rtol=0.0, atol=4 * steps * (n * eps * bound + eps) * (2 + c_max + steps))


def _cell_shown(gates):
    def shown(case):
        x, w_ih, w_hh, b_ih, b_hh, h, c = _cell_tensors(case, gates)
        state = ((h, c) if gates == 4 else h) if case["state"] else None
        return {"x": x, "state" if gates == 4 else "h": state, "weight_ih": w_ih, "weight_hh": w_hh,
                "bias_ih": b_ih, "bias_hh": b_hh}
    return shown


def _cell_examples():
    return [{"batch": 2, "inp": 3, "hidden": 2, "bias": "both", "state": True, "dtype": "float64", "seed": 1},
            {"batch": 1, "inp": 1, "hidden": 1, "bias": "none", "state": True, "dtype": "float64", "seed": 2},
            {"batch": 3, "inp": 4, "hidden": 5, "bias": "hh", "state": True, "dtype": "float32", "seed": 3},
            {"batch": 2, "inp": 5, "hidden": 3, "bias": "ih", "state": False, "dtype": "float64", "seed": 4},
            {"batch": 4, "inp": 6, "hidden": 6, "bias": "both", "state": False, "dtype": "float32", "seed": 5}]


@aspect(A, task="lstm_cell", points=2)
def lstm_cell_correct(lstm_cell):
    """lstm_cell returns (h', c') equal to nn.LSTMCell's with the same weights (gate order i, f, g, o)."""

    @showing(_cell_shown(4))
    def same_as_torch(case):
        x, w_ih, w_hh, b_ih, b_hh, h, c = _cell_tensors(case, 4)
        state = (h, c) if case["state"] else None
        args, kwargs = _bias_args(b_ih, b_hh, case)
        got = _pair(_watched(lstm_cell, x, state, w_ih, w_hh, *args, **kwargs), "lstm_cell's result (h', c')")
        want_h, want_c = oracles.lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)
        tol = _cell_tolerance(x.dtype, x, w_ih, w_hh, b_ih, b_hh, 1.0, 2.0)
        assert_close(got[0], want_h.to(x.dtype), **tol, what="h' (the first element)")
        assert_close(got[1], want_c.to(x.dtype), **tol, what="c' (the second element)")

    yield check_property(
        "(h', c') equals nn.LSTMCell's for random sizes, float32 and float64, with both biases, one of them "
        "(by keyword) or none, from a state and from None (zeros); new tensors, the inputs (the state's tensors "
        "too) and the global settings unchanged",
        S.cell_cases(), same_as_torch, max_examples=40, examples=_cell_examples())


@aspect(A, task="gru_cell", points=2)
def gru_cell_correct(gru_cell):
    """gru_cell returns h' equal to nn.GRUCell's (gate order r, z, n; r multiplies W_hn h + b_hn)."""

    @showing(_cell_shown(3))
    def same_as_torch(case):
        x, w_ih, w_hh, b_ih, b_hh, h, _ = _cell_tensors(case, 3)
        state = h if case["state"] else None
        args, kwargs = _bias_args(b_ih, b_hh, case)
        got = _watched(gru_cell, x, state, w_ih, w_hh, *args, **kwargs)
        want = oracles.gru_cell(x, state, w_ih, w_hh, b_ih, b_hh)
        assert_close(got, want.to(x.dtype), **_cell_tolerance(x.dtype, x, w_ih, w_hh, b_ih, b_hh, 1.0, 1.0),
                     what="h'")

    yield check_property(
        "h' equals nn.GRUCell's for random sizes, float32 and float64, with both biases, one of them (by "
        "keyword) or none, from a state and from None (zeros); a new tensor, the inputs and the global settings "
        "unchanged",
        S.cell_cases(), same_as_torch, max_examples=40, examples=_cell_examples())


# ---------------------------------------------------------------- lstm_over_slices

def _sequence(case):
    x, w_ih, w_hh, b_ih, b_hh, h, c = _cell_tensors(case, 4)
    slices = tensor_from_seed((case["steps"], case["batch"], case["inp"]), case["seed"] + 7, low=-2.0, high=2.0,
                              dtype=x.dtype)
    return slices, w_ih, w_hh, b_ih, b_hh, ((h, c) if case["state"] else None)


def _sequence_shown(case):
    slices, w_ih, w_hh, b_ih, b_hh, state = _sequence(case)
    return {"slices": slices, "weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh,
            "state": state}


@aspect(A, task="lstm_over_slices", points=2)
def lstm_over_slices_correct(lstm_over_slices):
    """lstm_over_slices returns every step's h and the final (h, c), equal to a 1-layer nn.LSTM's."""

    @showing(_sequence_shown)
    def same_as_torch(case):
        slices, w_ih, w_hh, b_ih, b_hh, state = _sequence(case)
        got = _pair(_watched(lstm_over_slices, slices, w_ih, w_hh, b_ih, b_hh, state=state),
                    "lstm_over_slices' result (outputs, (h, c))")
        final = _pair(got[1], "the final state (h, c)")
        want_out, (want_h, want_c) = oracles.lstm_over_slices(slices, w_ih, w_hh, b_ih, b_hh, state)
        tol = _cell_tolerance(slices.dtype, slices, w_ih, w_hh, b_ih, b_hh, 1.0, 2.0, steps=case["steps"])
        assert_close(got[0], want_out.to(slices.dtype), **tol, what="the outputs (T, B, H)")
        assert_close(final[0], want_h.to(slices.dtype), **tol, what="the final h")
        assert_close(final[1], want_c.to(slices.dtype), **tol, what="the final c")

    ex = _cell_examples()
    yield check_property(
        "the outputs of every slice and the final (h, c) equal a 1-layer nn.LSTM's, from zeros and from a given "
        "state, 1 to 12 slices, float32 and float64; new tensors, the inputs (the state's tensors too) and the "
        "global settings unchanged",
        S.sequence_cases(), same_as_torch, max_examples=25,
        examples=[{**ex[0], "steps": 5}, {**ex[1], "steps": 1}, {**ex[2], "steps": 12}, {**ex[3], "steps": 4},
                  {**ex[4], "steps": 3, "inp": 2, "hidden": 3}])


# ---------------------------------------------------------------- scaled_dot_product_attention

def _qkv(case, S_=None):
    lead, s, dtype = tuple(case["lead"]), case["seed"], norm_dtype(case["dtype"])
    L, S_ = case["L"], case["S"] if S_ is None else S_
    q = tensor_from_seed(lead + (L, case["E"]), s, low=-1.5, high=1.5, dtype=dtype)
    k = tensor_from_seed(lead + (S_, case["E"]), s + 1, low=-1.5, high=1.5, dtype=dtype)
    v = tensor_from_seed(lead + (S_, case["Ev"]), s + 2, low=-1.0, high=1.0, dtype=dtype)
    return q, k, v


def _mask_shape(case):
    lead, L, S_ = tuple(case["lead"]), case["L"], case["S"]
    if case["mask_shape"] == "full":
        return lead + (L, S_)
    if case["mask_shape"] == "ones" and lead:
        return (1,) * len(lead) + (L, S_)
    if case["mask_shape"] == "keys":
        return lead + (1, S_)
    return (L, S_)


def _keepers(shape, seed):
    """One key index per query (every leading index too): that key is never masked."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, shape[-1], shape[:-1] + (1,), generator=g)


def _attention_kwargs(case, dtype):
    """The mask arguments of a case (no query loses every key) and the scale."""
    kwargs, s = {}, case["seed"]
    if case["mask"] in ("bool", "float"):
        shape = _mask_shape(case)
        keep = torch.zeros(shape, dtype=torch.bool).scatter_(-1, _keepers(shape, s + 3), True)
        drop = tensor_from_seed(shape, s + 4, low=0.0, high=1.0, dtype=torch.float64) < 0.4
        if case["mask"] == "bool":
            kwargs["attn_mask"] = ~drop | keep
        else:
            bias = tensor_from_seed(shape, s + 5, low=-3.0, high=3.0, dtype=dtype)
            kwargs["attn_mask"] = bias.masked_fill(drop & ~keep, float("-inf"))
    elif case["mask"] == "causal":
        kwargs["is_causal"] = True
    if case.get("scale") is not None:
        kwargs["scale"] = case["scale"]
    return kwargs


def _attention_tolerance(q, k, v, kwargs) -> dict:
    """A score is a dot product of E terms (times the scale, plus the mask): rounding moves it by at most
    about (E + 2) * eps * sum |q_i| |k_i| * scale + eps * |mask|. The softmax turns a score error e into
    relative weight errors of at most 2e, so the output moves by about 4e * max|v|, plus the rounding of the
    weighted sum of S values."""
    eps = torch.finfo(q.dtype).eps
    E, S_ = q.shape[-1], k.shape[-2]
    scale = kwargs["scale"] if kwargs.get("scale") is not None else 1.0 / math.sqrt(E)
    if S_ == 0 or q.shape[-2] == 0:
        return dict(rtol=0.0, atol=eps)
    sums = (q.double().abs() @ k.double().abs().transpose(-2, -1)).max().item() * scale
    mask = kwargs.get("attn_mask")
    mask_size = mask.double().nan_to_num(0.0, 0.0, 0.0).abs().max().item() if mask is not None and \
        mask.dtype != torch.bool and mask.numel() else 0.0
    e = (E + 2) * eps * sums + eps * (mask_size + 1)
    v_size = v.double().abs().max().item() if v.numel() else 0.0
    return dict(rtol=0.0, atol=(4 * e + 2 * (S_ + 2) * eps) * (v_size + 1e-3) + eps)


def _attention_shown(case):
    q, k, v = _qkv(case)
    return {"q": q, "k": k, "v": v, **_attention_kwargs(case, q.dtype)}


def _sdpa_examples():
    base = {"lead": (2,), "L": 3, "S": 5, "E": 4, "Ev": 2, "mask": "none", "mask_shape": "LS", "scale": None,
            "dtype": "float64", "seed": 1}
    return [base,
            {**base, "lead": (), "L": 1, "S": 1, "E": 1, "Ev": 1},                        # one query, one key
            {**base, "mask": "bool", "lead": (2, 3), "mask_shape": "full", "seed": 2},
            {**base, "mask": "bool", "lead": (2, 3), "mask_shape": "ones", "seed": 3},
            {**base, "mask": "float", "mask_shape": "LS", "dtype": "float32", "seed": 4},
            {**base, "mask": "causal", "L": 5, "S": 3, "seed": 5},                         # L > S
            {**base, "mask": "causal", "L": 2, "S": 6, "seed": 6},                         # L < S
            {**base, "scale": 0.3, "E": 8, "Ev": 3, "seed": 7},
            {**base, "scale": 0.0, "seed": 9},                                             # every key alike
            {**base, "mask": "bool", "lead": (3,), "mask_shape": "keys", "seed": 10},      # a mask of keys
            {**base, "mask": "float", "mask_shape": "full", "lead": (1, 2), "scale": 2.5, "seed": 8},
            {**base, "mask": "causal", "L": 40, "S": 33, "seed": 11},                      # long sequences
            {**base, "mask": "bool", "L": 24, "S": 48, "mask_shape": "keys", "seed": 12},
            {**base, "lead": (), "L": 48, "S": 48, "E": 6, "dtype": "float32", "seed": 13}]


@aspect(A, task="scaled_dot_product_attention", points=3)
def scaled_dot_product_attention_correct(scaled_dot_product_attention):
    """scaled_dot_product_attention equals F.scaled_dot_product_attention: masks, causal, scale, batch dims."""

    @showing(_attention_shown)
    def same_as_torch(case):
        q, k, v = _qkv(case)
        kwargs = _attention_kwargs(case, q.dtype)
        got = _watched(scaled_dot_product_attention, q, k, v, **kwargs)
        want = oracles.attention(q, k, v, kwargs.get("attn_mask"), kwargs.get("is_causal", False),
                                 kwargs.get("scale"))
        assert_close(got, want.to(q.dtype), **_attention_tolerance(q, k, v, kwargs), what="the attention output")

    yield check_property(
        "equals F.scaled_dot_product_attention with no mask, boolean and additive masks of every broadcastable "
        "shape, is_causal (L > S and L < S included) and a given scale; 0 to 2 leading dimensions; 1 to 48 "
        "queries and keys; float32 and float64; a new tensor, the inputs and the global settings unchanged",
        S.attention_cases(), same_as_torch, max_examples=80, examples=_sdpa_examples())


def _dead_inputs(case):
    """q, k, v and a mask that removes every key of some queries (or S = 0)."""
    q, k, v = _qkv(case)
    kwargs = {}
    L, S_, s = case["L"], case["S"], case["seed"]
    if case["mask"] == "none":
        return q, k, v, kwargs
    shape = tuple(case["lead"]) + (L, S_)
    dead = tensor_from_seed(shape[:-1] + (1,), s + 6, low=0.0, high=1.0, dtype=torch.float64) < 0.5
    dead.view(-1, 1)[0] = True                                      # at least one dead query
    drop = tensor_from_seed(shape, s + 4, low=0.0, high=1.0, dtype=torch.float64) < 0.3
    if S_:
        keep = torch.zeros(shape, dtype=torch.bool).scatter_(-1, _keepers(shape, s + 3), True)
        drop = (drop & ~keep) | dead
    if case["mask"] == "bool":
        kwargs["attn_mask"] = ~drop
    else:
        bias = tensor_from_seed(shape, s + 5, low=-3.0, high=3.0, dtype=q.dtype)
        kwargs["attn_mask"] = bias.masked_fill(drop, float("-inf"))
    return q, k, v, kwargs


def _dead_shown(case):
    q, k, v, kwargs = _dead_inputs(case)
    return {"q": q, "k": k, "v": v, **kwargs}


@aspect(A, task="scaled_dot_product_attention", points=1)
def scaled_dot_product_attention_edge_cases(scaled_dot_product_attention):
    """Fully masked queries and S = 0 give zeros and finite gradients; dropout and mask + causal raise."""

    @showing(_dead_shown)
    def zeros_for_dead_rows(case):
        q, k, v, kwargs = _dead_inputs(case)
        leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
        with torch.enable_grad():
            got = _call(scaled_dot_product_attention, *leaves, **kwargs)
            want, want_grads = oracles.attention_with_grads(
                q, k, v, tensor_from_seed(q.shape[:-1] + (v.shape[-1],), case["seed"] + 9, dtype=torch.float64),
                **kwargs)
            assert_close(got, want.to(q.dtype), **_attention_tolerance(q, k, v, kwargs),
                         what="the attention output (zeros where a query has no key)")
            if not got.requires_grad or got.numel() == 0 or k.shape[-2] == 0:
                return
            upstream = tensor_from_seed(got.shape, case["seed"] + 9, dtype=torch.float64).to(q.dtype)
            grads = gradients(got, leaves, upstream)
        for name, g, w in zip("qkv", grads, want_grads):
            g = torch.zeros_like(w) if g is None else g
            if not bool(torch.isfinite(g).all()):
                raise CheckFailed(f"the gradient with respect to {name} holds NaN or inf: a query with no key "
                                  f"must not spread NaN into the gradients")
            assert_close(g.double(), w, **_attention_tolerance(q, k, v, kwargs), check_dtype=False,
                         what=f"the gradient with respect to {name}")

    base = {"lead": (), "L": 3, "S": 4, "E": 3, "Ev": 2, "mask": "bool", "dtype": "float64", "seed": 1}
    yield check_property(
        "a query whose every key is masked (boolean False, or -inf) gets zeros, as does every query when S = 0; "
        "the other queries as usual; the gradients finite and equal to torch's",
        S.dead_row_cases(), zeros_for_dead_rows, max_examples=30,
        examples=[base, {**base, "mask": "float", "lead": (2,), "seed": 2},
                  {**base, "S": 0, "mask": "none", "seed": 3}, {**base, "S": 0, "mask": "bool", "seed": 4},
                  {**base, "L": 1, "mask": "float", "dtype": "float32", "seed": 5}])

    def refuses():
        q, k, v = _qkv({"lead": (), "L": 3, "S": 4, "E": 2, "Ev": 2, "dtype": "float32", "seed": 11})
        if not _raises_value_error(scaled_dot_product_attention, q, k, v, dropout_p=0.1):
            raise CheckFailed("dropout_p=0.1 should raise ValueError (dropout is not part of this exercise)")
        mask = torch.ones(3, 4, dtype=torch.bool)
        if not _raises_value_error(scaled_dot_product_attention, q, k, v, attn_mask=mask, is_causal=True):
            raise CheckFailed("an attn_mask together with is_causal=True should raise ValueError")

    yield check_once("a non-zero dropout_p, and an attn_mask together with is_causal=True, raise ValueError", refuses)


def _causal_inputs(case):
    T, lead, s = case["T"], tuple(case["lead"]), case["seed"]
    q = tensor_from_seed(lead + (T, case["E"]), s, low=-1.5, high=1.5, dtype=torch.float64)
    k = tensor_from_seed(lead + (T, case["E"]), s + 1, low=-1.5, high=1.5, dtype=torch.float64)
    v = tensor_from_seed(lead + (T, case["Ev"]), s + 2, dtype=torch.float64)
    tril = torch.ones(T, T, dtype=torch.bool).tril()
    kwargs = {"is_causal": {"is_causal": True}, "bool": {"attn_mask": tril},
              "float": {"attn_mask": torch.zeros(T, T, dtype=torch.float64).masked_fill(~tril, float("-inf"))}}
    return q, k, v, kwargs[case["how"]]


def _causal_shown(case):
    q, k, v, kwargs = _causal_inputs(case)
    return {"q": q, "k": k, "v": v, **kwargs}


@aspect(A, task="scaled_dot_product_attention", points=2)
def scaled_dot_product_attention_causal(scaled_dot_product_attention):
    """With a causal mask, output t does not depend on q, k, v after t: autograd's Jacobian there is exactly 0."""

    @showing(_causal_shown, note=lambda case: f"the gradient of outputs 0..{case['t']} was asked for")
    def independent_of_the_future(case):
        q, k, v, kwargs = _causal_inputs(case)
        t = case["t"]
        leaves = [x.clone().requires_grad_(True) for x in (q, k, v)]
        upstream = tensor_from_seed(q.shape[:-1] + (v.shape[-1],), case["seed"] + 9, dtype=torch.float64)
        upstream[..., t + 1:, :] = 0.0                     # only the outputs 0 .. t
        with torch.enable_grad():
            got = _call(scaled_dot_product_attention, *leaves, **kwargs)
            want, want_grads = oracles.attention_with_grads(q, k, v, upstream, **kwargs)
            assert_close(got, want, **_attention_tolerance(q, k, v, kwargs), what="the attention output")
            if not got.requires_grad:
                raise CheckFailed("the output is cut off from autograd (it does not require grad): compute it "
                                  "with torch operations on q, k and v")
            grads = gradients(got, leaves, upstream)
        for name, g, w in zip("qkv", grads, want_grads):
            g = torch.zeros_like(w) if g is None else g
            later = g[..., t + 1:, :]
            if bool((later != 0).any()):
                worst = later.abs().max().item()
                raise CheckFailed(f"outputs 0..{t} depend on {name} at positions after {t}: the gradient there "
                                  f"should be exactly 0, its largest entry is {worst:.3g}")
            assert_close(g, w, **_attention_tolerance(q, k, v, kwargs),
                         what=f"the gradient of outputs 0..{t} with respect to {name}")

    base = {"lead": (), "T": 5, "E": 3, "Ev": 2, "how": "is_causal", "t": 1, "seed": 1}
    yield check_property(
        "through autograd: the gradient of outputs 0..t with respect to q, k and v at every position after t is "
        "exactly 0 (is_causal=True, a boolean triangle, an additive -inf triangle), and equals torch's elsewhere; "
        "2 to 40 positions",
        S.causal_cases(), independent_of_the_future, max_examples=30,
        examples=[base, {**base, "how": "bool", "t": 0, "seed": 2}, {**base, "how": "float", "t": 3, "seed": 3},
                  {**base, "lead": (2, 2), "T": 8, "t": 4, "seed": 4}, {**base, "T": 33, "t": 20, "seed": 5},
                  {**base, "how": "bool", "T": 40, "t": 9, "seed": 6}])


def _large_logits(case):
    """Queries a_i u + r_i and keys c_j sqrt(E) u + w_j (u the unit diagonal, r and w orthogonal to it):
    scores a_i c_j + r_i . w_j / sqrt(E), with a_i from 1e3 to 1e4. c_j = 1: the spread within a row is of order
    1 (a softmax far from one-hot); with ``spread``, c_j from 0.1 to 1: scores from 1e2 to 1e4 whose
    differences within a row are in the hundreds or thousands (a softmax close to one-hot, which a shift by
    the row's mean or minimum, or a mask applied after the softmax, gets wrong)."""
    lead, L, S_, E, s = tuple(case["lead"]), case["L"], case["S"], case["E"], case["seed"]
    u = torch.full((E,), 1.0 / math.sqrt(E), dtype=torch.float64)

    def off_diagonal(shape, seed):
        r = tensor_from_seed(shape, seed, low=-1.5, high=1.5, dtype=torch.float64)
        return r - (r @ u)[..., None] * u

    a = tensor_from_seed(lead + (L, 1), s, low=1e3, high=1e4, dtype=torch.float64)
    q = a * u + off_diagonal(lead + (L, E), s + 1) * math.sqrt(E)
    c = tensor_from_seed(lead + (S_, 1), s + 4, low=0.1, high=1.0, dtype=torch.float64) if case.get("spread") \
        else torch.ones(lead + (S_, 1), dtype=torch.float64)
    k = c * math.sqrt(E) * u + off_diagonal(lead + (S_, E), s + 2)
    v = tensor_from_seed(lead + (S_, case["Ev"]), s + 3, dtype=torch.float64)
    dtype = norm_dtype(case["dtype"])
    return q.to(dtype), k.to(dtype), v.to(dtype)


@aspect(A, task="scaled_dot_product_attention", points=1)
def scaled_dot_product_attention_stable(scaled_dot_product_attention):
    """Scores of 1e3 to 1e4 (float32 and float64) give finite outputs equal to torch's: no overflow, no 0 / 0."""

    @showing(lambda case: {**dict(zip("qkv", _large_logits(case))),
                           **_attention_kwargs({**case, "mask_shape": "LS"}, torch.float64)},
             note=lambda case: "the scores q k^T / sqrt(E) lie between 1e3 and 1e4, spread by about 1 within a row"
             if not case.get("spread") else "the scores q k^T / sqrt(E) lie between 1e2 and 1e4, spread by hundreds "
             "or thousands within a row")
    def finite_and_right(case):
        q, k, v = _large_logits(case)
        kwargs = _attention_kwargs({**case, "mask_shape": "LS"}, q.dtype)
        got = _watched(scaled_dot_product_attention, q, k, v, **kwargs)
        expect_tensor(got, what="the attention output", shape=q.shape[:-1] + (v.shape[-1],), dtype=q.dtype)
        if not bool(torch.isfinite(got).all()):
            raise CheckFailed("the output holds NaN or inf: exp of a score of 1e3 overflows; subtract each "
                              "row's maximum first")
        want = oracles.attention(q, k, v, kwargs.get("attn_mask"), kwargs.get("is_causal", False))
        assert_close(got, want.to(q.dtype), **_attention_tolerance(q, k, v, kwargs), what="the attention output")

    base = {"lead": (), "L": 4, "S": 5, "E": 4, "Ev": 2, "mask": "none", "spread": False, "dtype": "float32",
            "seed": 1}
    yield check_property(
        "finite and equal to torch's when the scores are 1e3 to 1e4, their differences within a row of order 1 "
        "or in the thousands, without a mask, with a boolean mask and causal, float32 and float64",
        S.large_logit_cases(), finite_and_right, max_examples=30,
        examples=[base, {**base, "dtype": "float64", "seed": 2}, {**base, "lead": (2,), "L": 1, "S": 2, "seed": 3},
                  {**base, "mask": "bool", "seed": 4}, {**base, "mask": "causal", "dtype": "float64", "seed": 5},
                  {**base, "spread": True, "seed": 6}, {**base, "spread": True, "mask": "bool", "seed": 7},
                  {**base, "spread": True, "mask": "causal", "dtype": "float64", "L": 6, "S": 6, "seed": 8}])


def _permuted(case):
    L, S_, s = case["L"], case["S"], case["seed"]
    q, k, v = _qkv({"lead": (), "L": L, "S": S_, "E": case["E"], "Ev": case["Ev"], "dtype": "float64", "seed": s})
    g = torch.Generator().manual_seed(s + 7)
    p, r = torch.randperm(L, generator=g), torch.randperm(S_, generator=g)
    kwargs = {}
    if case["mask"]:
        kwargs = _attention_kwargs({"mask": "bool", "lead": (), "L": L, "S": S_, "mask_shape": "LS", "seed": s},
                                   torch.float64)
    return q, k, v, kwargs, p, r


@aspect(A, task="scaled_dot_product_attention", points=1)
def scaled_dot_product_attention_equivariant(scaled_dot_product_attention):
    """Permuting the queries permutes the outputs; permuting keys and values together changes nothing."""

    def shown(case):
        q, k, v, kwargs, p, r = _permuted(case)
        return {"q": q, "k": k, "v": v, **kwargs, "query permutation": p, "key permutation": r}

    @showing(shown)
    def equivariant(case):
        q, k, v, kwargs, p, r = _permuted(case)
        out = _call(scaled_dot_product_attention, q, k, v, **kwargs)
        moved = {"attn_mask": kwargs["attn_mask"][p][:, r]} if kwargs else {}
        out_moved = _call(scaled_dot_product_attention, q[p], k[r], v[r], **moved)
        expect_tensor(out, what="the output", shape=(q.shape[0], v.shape[1]), dtype=q.dtype)
        tol = _attention_tolerance(q, k, v, kwargs)
        assert_close(out_moved, out[p], rtol=0.0, atol=2 * tol["atol"],
                     what="the output for permuted queries (and keys and values permuted together), compared "
                          "with the original output permuted the same way")

    base = {"L": 6, "S": 6, "E": 3, "Ev": 2, "mask": False, "seed": 1}
    yield check_property(
        "permuting the queries permutes the outputs the same way and permuting keys and values together changes "
        "nothing, without a mask and with a boolean mask permuted along; up to 64 positions",
        S.permutation_cases(), equivariant, max_examples=20,
        examples=[base, {**base, "mask": True, "L": 10, "S": 7, "seed": 2}, {**base, "L": 64, "S": 64, "seed": 3}])


# 1,000 queries (the slices of two volumes) and 128 keys: with few keys each query's arithmetic is small, so
# what a loop over the queries pays is its 1,000 rounds of Python and dispatch, not arithmetic. With 1,000 keys
# (self-attention) a lean loop over the queries ran at 6-10x the library's time on one CPU thread and
# honest vectorized versions up to 5x: no threshold told them apart.
SPEED_QUERIES, SPEED_KEYS = (2, 1000, 32), (2, 128, 32)
# measured on a loaded 2-core CPU, one thread: the solution 1.3x, honest variants (its masked path always,
# a softmax written out, float64 inside, a loop over blocks of 16 or 64 queries) 1.6-3.9x; loops over the
# queries (one matrix product per query, torch.mv per batch and query, NumPy) 21-25x, the online softmax
# looped over the keys 19x. The CUDA threshold is the same number, not yet measured on a GPU.
SPEED_THRESHOLDS = {"cpu": 8.0, "cuda": 8.0}


def _speed_inputs(seed, device):
    return tuple(tensor_from_seed(shape, seed + i, low=-1.5, high=1.5).to(device)
                 for i, shape in enumerate((SPEED_QUERIES, SPEED_KEYS, SPEED_KEYS)))


def _speed_check(args, got, expected):
    q, k, v = (a.cpu() for a in args)
    assert_close(got.cpu(), expected.cpu(), **_attention_tolerance(q, k, v, {}),
                 what="the attention output in the timed calls")


@aspect(A, task="scaled_dot_product_attention", kind="speed", points=2,
        requires=("scaled_dot_product_attention_correct",))
def scaled_dot_product_attention_speed(scaled_dot_product_attention):
    """1,000 queries over 128 keys run within a fixed ratio of F.scaled_dot_product_attention (no loop over queries)."""
    yield measure_ratio(SpeedCase(
        "attention of 2 x 1000 queries over 128 keys (E = 32), vs F.scaled_dot_product_attention",
        student=scaled_dot_product_attention, reference=_TORCH_SDPA, make_inputs=_speed_inputs,
        check=_speed_check, thresholds=SPEED_THRESHOLDS, forbid=_LIBRARY, forbid_ops=_LIBRARY_OPS,
        advice="compute all scores with one matrix product, not in a loop over the queries or the keys"))


# ---------------------------------------------------------------- heads

def _heads_input(case):
    dtype = norm_dtype(case["dtype"])
    return tensor_from_seed((case["batch"], case["L"], case["heads"] * case["head_dim"]), case["seed"], dtype=dtype)


def _head_examples():
    return [{"batch": 2, "L": 3, "heads": 2, "head_dim": 2, "dtype": "float64", "seed": 1},
            {"batch": 1, "L": 1, "heads": 1, "head_dim": 1, "dtype": "float32", "seed": 2},
            {"batch": 1, "L": 4, "heads": 4, "head_dim": 1, "dtype": "float64", "seed": 3},
            {"batch": 3, "L": 2, "heads": 3, "head_dim": 4, "dtype": "float32", "seed": 4}]


@aspect(A, task="split_heads", points=1)
def split_heads_correct(split_heads):
    """split_heads gives (B, h, L, d) with head i holding features i*d .. (i+1)*d - 1, as nn.MultiheadAttention."""

    @showing(lambda case: {"x": _heads_input(case), "num_heads": case["heads"]})
    def same_layout(case):
        x = _heads_input(case)
        before = x.clone()
        got = _call(split_heads, x, case["heads"])
        assert_equal(got.contiguous() if isinstance(got, torch.Tensor) else got, oracles.split_heads(x, case["heads"]),
                     what="the heads (B, h, L, d)")
        if not torch.equal(before, x):
            raise CheckFailed(modified_in_place("x"))

    yield check_property("the layout of nn.MultiheadAttention's heads, exactly, for random sizes",
                         S.head_cases(), same_layout, max_examples=20, examples=_head_examples())


def _merge_input(case, contiguous):
    x = _heads_input(case)
    heads = x.reshape(case["batch"], case["L"], case["heads"], case["head_dim"]).transpose(1, 2)
    return heads.contiguous() if contiguous else heads


@aspect(A, task="merge_heads", points=1)
def merge_heads_correct(merge_heads):
    """merge_heads is the inverse of split_heads: (B, h, L, d) -> (B, L, h*d), non-contiguous inputs too."""

    def prop(contiguous):
        @showing(lambda case: {"x": _merge_input(case, contiguous)},
                 note=lambda case: "x is " + ("contiguous" if contiguous else "a transposed view (not contiguous)"))
        def same_layout(case):
            x = _merge_input(case, contiguous)
            got = _call(merge_heads, x)
            assert_equal(got.contiguous() if isinstance(got, torch.Tensor) else got, oracles.merge_heads(x),
                         what="the merged features (B, L, h * d)")
        return same_layout

    yield check_property("the inverse of the heads' layout, exactly, on contiguous inputs",
                         S.head_cases(), prop(True), max_examples=12, examples=_head_examples())
    yield check_property("the same on non-contiguous inputs (attention's output on split heads)",
                         S.head_cases(), prop(False), max_examples=12, examples=_head_examples())


# ---------------------------------------------------------------- multi_head_attention

def _mha_inputs(case):
    B, L, S_, h, d, s = case["batch"], case["L"], case["S"], case["heads"], case["head_dim"], case["seed"]
    if case["self"]:
        S_ = L
    E, dtype = h * d, norm_dtype(case["dtype"])
    bound = math.sqrt(6.0 / (E + 3 * E))                    # xavier_uniform_ of in_proj_weight, as torch does
    query = tensor_from_seed((B, L, E), s, dtype=dtype)
    key = query if case["self"] else tensor_from_seed((B, S_, E), s + 1, dtype=dtype)
    value = query if case["self"] else tensor_from_seed((B, S_, E), s + 2, dtype=dtype)
    out_bound = 1 / math.sqrt(E)
    params = {"in_proj_weight": tensor_from_seed((3 * E, E), s + 3, low=-bound, high=bound, dtype=dtype),
              "in_proj_bias": (tensor_from_seed((3 * E,), s + 4, low=-0.5, high=0.5, dtype=dtype)
                               if case["bias"] else None),
              "out_proj_weight": tensor_from_seed((E, E), s + 5, low=-out_bound, high=out_bound, dtype=dtype),
              "out_proj_bias": tensor_from_seed((E,), s + 6, low=-0.5, high=0.5, dtype=dtype) if case["bias"] else None}
    g = torch.Generator().manual_seed(s + 7)
    keeper = int(torch.randint(0, S_, (1,), generator=g))     # one key no mask hides
    masks = {"key_padding_mask": None, "attn_mask": None}
    if case["padding"]:
        pad = torch.rand(B, S_, generator=g) < 0.35
        pad[:, keeper] = False
        masks["key_padding_mask"] = pad
    if case["attn_mask"] == "bool":
        hide = torch.rand(L, S_, generator=g) < 0.35
        hide[:, keeper] = False
        masks["attn_mask"] = hide
    elif case["attn_mask"] == "float":
        bias = tensor_from_seed((L, S_), s + 8, low=-2.0, high=2.0, dtype=dtype)
        hide = torch.rand(L, S_, generator=g) < 0.3
        hide[:, keeper] = False
        masks["attn_mask"] = bias.masked_fill(hide, float("-inf"))
    return query, key, value, h, params, masks


def _mha_shown(case):
    query, key, value, h, params, masks = _mha_inputs(case)
    return {"query": query, "key": key if not case["self"] else "query",
            "value": value if not case["self"] else "query", "num_heads": h, **params, **masks}


@aspect(A, task="multi_head_attention", points=3)
def multi_head_attention_correct(multi_head_attention):
    """multi_head_attention's output and head-averaged weights equal nn.MultiheadAttention's (batch_first, masks)."""

    @showing(_mha_shown)
    def same_as_torch(case):
        query, key, value, h, params, masks = _mha_inputs(case)
        got = _pair(_watched(multi_head_attention, query, key, value, h, params["in_proj_weight"],
                             params["in_proj_bias"], params["out_proj_weight"], params["out_proj_bias"], new=False,
                             **masks),
                    "multi_head_attention's result (output, weights)")
        want_out, want_w = oracles.multi_head_attention(query, key, value, h, *params.values(), **masks)
        E = query.shape[-1]
        eps = torch.finfo(query.dtype).eps
        # three chained products of at most E + 1 terms of size about 1, and the softmax between them
        atol = 8 * (E + 2) ** 2 * eps * (1 + want_out.abs().max().item())
        assert_close(got[0], want_out.to(query.dtype), rtol=0.0, atol=atol, what="the output (B, L, E)")
        assert_close(got[1], want_w.to(query.dtype), rtol=0.0, atol=atol,
                     what="the attention weights averaged over the heads (B, L, S)")

    base = {"batch": 2, "L": 3, "S": 4, "heads": 2, "head_dim": 2, "self": False, "bias": True, "padding": False,
            "attn_mask": "none", "dtype": "float64", "seed": 1}
    yield check_property(
        "the output and the head-averaged weights equal nn.MultiheadAttention(batch_first=True)'s with the same "
        "parameters: 1 to 4 heads, self- and cross-attention, with and without biases, key padding masks, "
        "boolean (True = hidden) and additive attention masks, float32 and float64; the inputs and the global "
        "settings unchanged",
        S.mha_cases(), same_as_torch, max_examples=40,
        examples=[base, {**base, "self": True, "padding": True, "seed": 2},
                  {**base, "attn_mask": "bool", "heads": 3, "head_dim": 1, "seed": 3},
                  {**base, "attn_mask": "float", "padding": True, "dtype": "float32", "seed": 4},
                  {**base, "bias": False, "heads": 1, "head_dim": 4, "L": 1, "S": 1, "seed": 5},
                  {**base, "heads": 4, "head_dim": 3, "L": 5, "S": 2, "padding": True, "attn_mask": "bool",
                   "seed": 6},
                  {**base, "L": 1, "S": 6, "padding": True, "attn_mask": "bool", "seed": 7}])   # a key hidden twice


# ---------------------------------------------------------------- positional encoding

@aspect(A, task="sinusoidal_positional_encoding", points=2)
def sinusoidal_positional_encoding_correct(sinusoidal_positional_encoding):
    """sinusoidal_positional_encoding interleaves sin and cos of p * base^(-2i/D), odd D and long sequences included."""

    @showing(lambda case: case)
    def same_as_formula(case):
        dtype = norm_dtype(case["dtype"])
        if case["base"] == 10000.0 and dtype == torch.float32:
            args, kwargs = (case["length"], case["dim"]), {}
        else:
            args, kwargs = (case["length"], case["dim"]), {"base": case["base"], "dtype": dtype}
        got = _watched(sinusoidal_positional_encoding, *args, **kwargs)
        _watched(sinusoidal_positional_encoding, *args, **kwargs)      # a second call: again a new tensor
        want = oracles.positional_encoding(case["length"], case["dim"], case["base"]).to(dtype)
        # float32: the exact value rounded to float32 (3e-8) and a margin; float64: angles up to 5,000 rad
        # rounded to a few ulps (about 5e-12)
        atol = 1e-6 if dtype == torch.float32 else 1e-10
        assert_close(got, want, rtol=0.0, atol=atol, what="the positional encoding (length, dim)")
        if got.device.type != "cpu":
            raise CheckFailed(f"the encoding should be on the CPU, got {got.device}")

    def ex(length, dim, base=10000.0, dtype="float32"):
        return {"length": length, "dim": dim, "base": base, "dtype": dtype}

    yield check_property(
        "equals the formula (sin in even columns, cos in odd ones, frequencies base^(-2i/dim)) for lengths 0 to "
        "5,000, even and odd dimensions, several bases, float32 and float64; a new tensor at every call, the "
        "global settings unchanged",
        S.encoding_cases(), same_as_formula, max_examples=25,
        examples=[ex(50, 16), ex(0, 4), ex(7, 1), ex(10, 5, dtype="float64"), ex(4096, 64), ex(5000, 33, 1000.0),
                  ex(3, 8, 500.0, "float64")])
