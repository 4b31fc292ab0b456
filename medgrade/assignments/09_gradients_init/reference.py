"""The references of 09_gradients_init's checks: torch's own fans, gains, autograd and
``clip_grad_norm_`` (the libraries the tasks re-implement, called here, in the grading process)."""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.init as init


def fans(shape) -> tuple[int, int]:
    return init._calculate_fan_in_and_fan_out(torch.empty(tuple(shape)))


def gain(nonlinearity: str, param=None) -> float:
    return init.calculate_gain(nonlinearity, param)


def target_std(kind: str, shape, *, gain_value: float = 1.0, a: float = 0.0, mode: str = "fan_in",
               nonlinearity: str = "leaky_relu") -> float:
    """The standard deviation torch's ``<kind>_`` gives a tensor of ``shape``."""
    fan_in, fan_out = fans(shape)
    if kind.startswith("xavier"):
        return gain_value * math.sqrt(2.0 / (fan_in + fan_out))
    fan = fan_in if mode == "fan_in" else fan_out
    return init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


def layer_grad_norms(model, x, y, loss_fn) -> torch.Tensor:
    """Frobenius norms of d loss / d weight of every nn.Linear, in model.modules() order (autograd)."""
    model = copy.deepcopy(model)
    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.enable_grad():
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, weights)
    return torch.stack([g.double().norm() for g in grads])


def clip_grad_norm(grads: list, max_norm: float, norm_type: float):
    """(total norm before clipping, the gradients after) by torch.nn.utils.clip_grad_norm_."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape if g is not None else (2,),
                                           dtype=g.dtype if g is not None else torch.float32))
        p.grad = None if g is None else g.detach().clone()
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type, foreach=False)
    return total, [None if p.grad is None else p.grad for p in params]
