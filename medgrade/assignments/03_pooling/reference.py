"""The references of 03_pooling's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool):
    """Length of F.max_pool1d's output on an input of length n, or None when torch rejects the arguments."""
    try:
        with torch.no_grad():
            return int(F.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode).shape[-1])
    except RuntimeError:
        return None


def max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    """(out, indices) of F.max_pool2d in float64 on a contiguous copy; out in x's dtype (exact)."""
    out, idx = F.max_pool2d(x.detach().double().contiguous(), kernel_size, stride, padding, dilation,
                            ceil_mode, return_indices=True)
    return out.to(x.dtype), idx


def max_pool2d_input_grad(x, grad_out, kernel_size, stride, padding, dilation, ceil_mode):
    """The gradient of <F.max_pool2d(x), grad_out> with respect to x, by autograd in float64."""
    x64 = x.detach().double().contiguous().requires_grad_(True)
    with torch.enable_grad():
        out = F.max_pool2d(x64, kernel_size, stride, padding, dilation, ceil_mode)
        (grad,) = torch.autograd.grad(out, x64, grad_out.detach().double())
    return grad.to(grad_out.dtype)


def scatter_add_planes(grad_out, indices, input_shape):
    """Each plane's grad_out added into a zero plane of size H*W at its indices (float64)."""
    h, w = input_shape[-2], input_shape[-1]
    planes = grad_out.detach().double().reshape(-1, grad_out.shape[-2] * grad_out.shape[-1])
    where = indices.reshape(planes.shape)
    out = torch.zeros(planes.shape[0], h * w, dtype=torch.float64).scatter_add_(1, where, planes)
    return out.reshape(tuple(input_shape)).to(grad_out.dtype)


def avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    return F.avg_pool2d(x.detach().double().contiguous(), kernel_size, stride, padding, ceil_mode,
                        count_include_pad).to(x.dtype)


def global_avg_pool2d(x, keepdim):
    out = F.adaptive_avg_pool2d(x.detach().double(), 1)
    return (out if keepdim else out.flatten(2).squeeze(-1)).to(x.dtype)
