"""The references of 11_attention_vs_rnn's checks, computed in float64 with the libraries' own modules
(nn.LSTMCell, nn.GRUCell, nn.LSTM, F.scaled_dot_product_attention, nn.MultiheadAttention) holding the given
parameters, or, where the library has no function (heads' layout, positional encoding), an obvious loop."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _d(t):
    return None if t is None else t.detach().double()


def _load(module: nn.Module, params: dict) -> nn.Module:
    """``module`` in float64 with these parameters (a missing bias stays zero: the same as none)."""
    module = module.double()
    with torch.no_grad():
        for name, value in params.items():
            target = getattr(module, name)
            if value is None:
                target.zero_()
            else:
                target.copy_(value.double())
    return module


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    hidden = weight_hh.shape[1]
    cell = _load(nn.LSTMCell(x.shape[1], hidden), {"weight_ih": weight_ih, "weight_hh": weight_hh,
                                                   "bias_ih": bias_ih, "bias_hh": bias_hh})
    with torch.no_grad():
        return cell(_d(x), None if state is None else (_d(state[0]), _d(state[1])))


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    hidden = weight_hh.shape[1]
    cell = _load(nn.GRUCell(x.shape[1], hidden), {"weight_ih": weight_ih, "weight_hh": weight_hh,
                                                 "bias_ih": bias_ih, "bias_hh": bias_hh})
    with torch.no_grad():
        return cell(_d(x), _d(h))


def lstm_over_slices(slices, weight_ih, weight_hh, bias_ih, bias_hh, state):
    hidden = weight_hh.shape[1]
    lstm = _load(nn.LSTM(slices.shape[2], hidden), {"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh,
                                                     "bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh})
    with torch.no_grad():
        out, (h, c) = lstm(_d(slices), None if state is None else (_d(state[0])[None], _d(state[1])[None]))
    return out, (h[0], c[0])


def attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """F.scaled_dot_product_attention in float64 (its fully masked rows are zeros, as the contract says)."""
    mask = attn_mask if attn_mask is None or attn_mask.dtype == torch.bool else _d(attn_mask)
    with torch.no_grad():
        return F.scaled_dot_product_attention(_d(q), _d(k), _d(v), attn_mask=mask, is_causal=is_causal,
                                              scale=scale)


def attention_with_grads(q, k, v, upstream, **kwargs):
    """The float64 output and its gradients with respect to q, k and v for this upstream gradient."""
    leaves = [_d(t).clone().requires_grad_(True) for t in (q, k, v)]
    mask = kwargs.get("attn_mask")
    if mask is not None and mask.dtype != torch.bool:
        kwargs = dict(kwargs, attn_mask=_d(mask))
    with torch.enable_grad():
        out = F.scaled_dot_product_attention(*leaves, **kwargs)
        grads = torch.autograd.grad(out, leaves, _d(upstream), allow_unused=True)
    return out.detach(), grads


def split_heads(x, num_heads):
    """Position by position: out[b, i, l, j] = x[b, l, i * d + j]."""
    batch, length, embed = x.shape
    d = embed // num_heads
    out = torch.empty(batch, num_heads, length, d, dtype=x.dtype)
    for i in range(num_heads):
        out[:, i] = x[:, :, i * d:(i + 1) * d]
    return out


def merge_heads(x):
    batch, heads, length, d = x.shape
    out = torch.empty(batch, length, heads * d, dtype=x.dtype)
    for i in range(heads):
        out[:, :, i * d:(i + 1) * d] = x[:, i]
    return out


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                         out_proj_bias, key_padding_mask, attn_mask):
    embed = query.shape[-1]
    mha = nn.MultiheadAttention(embed, num_heads, bias=in_proj_bias is not None, batch_first=True).double().eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(in_proj_weight.double())
        mha.out_proj.weight.copy_(out_proj_weight.double())
        if in_proj_bias is not None:
            mha.in_proj_bias.copy_(in_proj_bias.double())
            mha.out_proj.bias.copy_(out_proj_bias.double())
        mask = attn_mask if attn_mask is None or attn_mask.dtype == torch.bool else _d(attn_mask)
        return mha(_d(query), _d(key), _d(value), key_padding_mask=key_padding_mask, attn_mask=mask)


def positional_encoding(length, dim, base):
    """The formula column by column in float64 (NumPy): column 2i and 2i + 1 share the frequency base^(-2i/dim)."""
    position = np.arange(length, dtype=np.float64)
    pe = np.zeros((length, dim))
    for col in range(dim):
        angle = position * math.pow(base, -(col - col % 2) / dim)
        pe[:, col] = np.sin(angle) if col % 2 == 0 else np.cos(angle)
    return torch.from_numpy(pe)
