"""The references of 05_batchnorm's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """Returns (out, new_running_mean, new_running_var); the inputs are not modified."""
    rm = running_mean.double().clone()
    rv = running_var.double().clone()
    out = F.batch_norm(x.double(), rm, rv, gamma.double(), beta.double(),
                       training=training, momentum=momentum, eps=eps)
    return out.to(x.dtype), rm.to(running_mean.dtype), rv.to(running_var.dtype)


def layer_norm(x, normalized_shape, gamma, beta, eps):
    return F.layer_norm(x.double(), normalized_shape, gamma.double(), beta.double(), eps).to(x.dtype)


def batch_norm_backward(dout, x, gamma, eps):
    """(dx, dgamma, dbeta) of training-mode batch norm, by autograd through F.batch_norm in float64."""
    x64 = x.detach().double().requires_grad_(True)
    g64 = gamma.detach().double().requires_grad_(True)
    b64 = torch.zeros_like(g64, requires_grad=True)
    with torch.enable_grad():
        out = F.batch_norm(x64, None, None, g64, b64, training=True, eps=eps)
        dx, dgamma, dbeta = torch.autograd.grad(out, (x64, g64, b64), dout.detach().double())
    return dx.to(x.dtype), dgamma.to(gamma.dtype), dbeta.to(gamma.dtype)
