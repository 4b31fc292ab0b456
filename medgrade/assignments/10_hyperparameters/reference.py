"""The references of 10_hyperparameters's checks: the schedules' values from torch.optim.lr_scheduler
itself, and slow, obvious loops for the searches and the LR range test; the objective the searches
are graded on (built of torch's layers, so that it can be sent to the student's worker)."""
from __future__ import annotations

import itertools
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import lr_scheduler

# ---------------------------------------------------------------- schedules (torch's own values)

def _torch_values(make, lr: float, steps: int) -> list[float]:
    """The learning rate of an SGD optimizer (momentum 0.9, so OneCycleLR may cycle it) after
    scheduler.step() has been called t times, for t = 0 .. steps."""
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
        values = [opt.param_groups[0]["lr"]]
        for _ in range(steps):
            opt.step()
            sched.step()
            values.append(opt.param_groups[0]["lr"])
    return values


def step_lr(base_lr, step_size, gamma, steps):
    return _torch_values(lambda o: lr_scheduler.StepLR(o, step_size, gamma), base_lr, steps)


def multistep_lr(base_lr, milestones, gamma, steps):
    return _torch_values(lambda o: lr_scheduler.MultiStepLR(o, list(milestones), gamma), base_lr, steps)


def warmup_cosine_lr(base_lr, warmup_steps, total_steps, start_factor, eta_min):
    def make(o):
        warm = lr_scheduler.LinearLR(o, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
        cos = lr_scheduler.CosineAnnealingLR(o, T_max=total_steps - warmup_steps, eta_min=eta_min)
        return lr_scheduler.SequentialLR(o, [warm, cos], milestones=[warmup_steps])
    return _torch_values(make, base_lr, total_steps)


def one_cycle_lr(max_lr, total_steps, pct_start, div_factor, final_div_factor, three_phase):
    return _torch_values(lambda o: lr_scheduler.OneCycleLR(
        o, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, div_factor=div_factor,
        final_div_factor=final_div_factor, three_phase=three_phase, anneal_strategy="cos"),
        max_lr / div_factor, total_steps - 1)


# ---------------------------------------------------------------- searches

def objective(centre, bounds, axis: int, tiny: float = 1e-9) -> nn.Sequential:
    """f(x) = |x[a] - c[a]| / width[a] + tiny * sum over the other axes of |x[j] - c[j]| / width[j]: one
    important axis a. Built of torch's own layers (Linear, ReLU, Linear), so that it can be sent to the
    student's worker; it takes a 1-D float64 tensor of length d and returns a float64 tensor of shape (1,)."""
    d = len(bounds)
    c = torch.tensor(centre, dtype=torch.float64)
    width = torch.tensor([hi - lo for lo, hi in bounds], dtype=torch.float64)
    weights = torch.full((d,), tiny, dtype=torch.float64)
    weights[axis] = 1.0
    first, second = nn.Linear(d, 2 * d).double(), nn.Linear(2 * d, 1).double()
    with torch.no_grad():
        eye = torch.diag(1.0 / width)
        first.weight.copy_(torch.cat([eye, -eye]))
        first.bias.copy_(torch.cat([-c / width, c / width]))
        second.weight.copy_(torch.cat([weights, weights]).reshape(1, -1))
        second.bias.zero_()
    f = nn.Sequential(first, nn.Sequential(nn.ReLU(), second))       # the inner block: see checks._Counted
    for p in f.parameters():
        p.requires_grad_(False)
    return f


def grid_points(bounds, budget: int) -> torch.Tensor:
    """The centres of the k**d equal cells of the box, k**d = budget, the first axis slowest."""
    d = len(bounds)
    k = next(k for k in range(1, budget + 1) if k ** d >= budget)
    if k ** d != budget:
        raise ValueError("budget is not a d-th power")
    axes = [[lo + (i + 0.5) * (hi - lo) / k for i in range(k)] for lo, hi in bounds]
    return torch.tensor(list(itertools.product(*axes)), dtype=torch.float64).reshape(budget, d)


def grid_search(f, bounds, budget: int):
    xs = grid_points(bounds, budget)
    ys = torch.tensor([float(f(x)) for x in xs], dtype=torch.float64)
    return xs, ys


# ---------------------------------------------------------------- LR range test

def lr_range_test(model: nn.Module, loader, lr_min: float, lr_max: float, steps: int,
                  diverge_factor: float = 4.0):
    """Plain SGD with exponentially spaced learning rates, one batch per step (the loader cycled),
    the loss before each step; stop after a loss that is not finite or above diverge_factor times the
    smallest so far; the model's state and mode restored."""
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    was_training = model.training
    model.train()
    lrs, losses = [], []
    batches = iter(loader)
    for i in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        model.zero_grad()
        loss = F.cross_entropy(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= lr * p.grad
    model.zero_grad()
    model.load_state_dict(saved)
    model.train(was_training)
    return lrs, losses
