"""Drivers the checks of 09_gradients_init run next to the student's function, in its worker.

A tensor's ``.grad`` does not cross the process boundary (only plain data does, see
:mod:`medgrade.worker.wire`), so the parameters whose gradients a student's function reads or
clips are built here, in the worker, from plain tensors; what the function did comes back as
plain tensors. This module imports torch and nothing of the grading package.
"""
from __future__ import annotations

import torch


def clip_with_grads(fn, grads: list, max_norm: float, norm_type: float, how: str = "list"):
    """Parameters whose ``.grad`` are ``grads`` (None: a parameter without a gradient), given to
    ``fn(parameters, max_norm, norm_type=norm_type)`` as a list (``how="list"``), a one-pass
    iterator (``"iterator"``) or a single tensor (``"single"``). Returns (what fn returned, the
    gradients afterwards, the parameters' values afterwards)."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape if g is not None else (2,), dtype=(
            g.dtype if g is not None else torch.float32)))
        p.grad = None if g is None else g.detach().clone()
        params.append(p)
    if how == "single":
        given = params[0]
    elif how == "iterator":
        given = (p for p in params)
    else:
        given = params
    total = fn(given, max_norm, norm_type=norm_type)
    after = [None if p.grad is None else p.grad.detach().clone() for p in params]
    values = [p.detach().clone() for p in params]
    return total, after, values


def norms_with_stale_grads(fn, model, x, y, loss_fn, stale: float):
    """``fn(model, x, y, loss_fn)`` after every parameter's ``.grad`` was set to ``stale``
    (gradients left over from an earlier step, when stale is not 0; none at all when it is 0)."""
    for p in model.parameters():
        p.grad = None if stale == 0 else torch.full_like(p, stale)
    return fn(model, x, y, loss_fn)
