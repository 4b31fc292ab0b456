"""Input generators of 10_hyperparameters: strategies draw small descriptions (a schedule's
configuration, a box and a budget, a tiny network's sizes and a seed); tensors are made from the
seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import math

from hypothesis import strategies as st

from medgrade.common.tensors import seeds

learning_rates = st.sampled_from([1e-4, 3e-4, 1e-3, 0.01, 0.05, 0.1, 0.3, 1.0, 2.5])
gammas = st.sampled_from([0.1, 0.2, 0.5, 0.9, 0.97, 1.0])


@st.composite
def step_cases(draw):
    """StepLR: decay by gamma every step_size steps, over a whole schedule."""
    return {"base_lr": draw(learning_rates), "step_size": draw(st.integers(1, 40)),
            "gamma": draw(gammas), "steps": draw(st.integers(1, 200))}


@st.composite
def multistep_cases(draw):
    """MultiStepLR: decay by gamma at each milestone (non-decreasing: a milestone may be listed twice, and
    then counts twice; some beyond the end)."""
    steps = draw(st.integers(1, 200))
    milestones = sorted(draw(st.lists(st.integers(1, steps + 20), min_size=1, max_size=5)))
    return {"base_lr": draw(learning_rates), "milestones": milestones, "gamma": draw(gammas), "steps": steps}


@st.composite
def warmup_cosine_cases(draw):
    """Linear warm-up over warmup_steps, then cosine annealing to eta_min at total_steps."""
    total = draw(st.integers(2, 300))
    warmup = draw(st.integers(1, total - 1))
    base = draw(learning_rates)
    return {"base_lr": base, "warmup_steps": warmup, "total_steps": total,
            "start_factor": draw(st.sampled_from([1e-3, 0.01, 0.1, 0.25, 0.5, 1.0])),
            "eta_min": base * draw(st.sampled_from([0.0, 0.0, 1e-3, 0.01, 0.1]))}


@st.composite
def one_cycle_cases(draw):
    """OneCycleLR (cosine annealing), two- or three-phase; every phase at least one step long."""
    three = draw(st.booleans())
    total = draw(st.integers(6, 400))
    # phase ends pct * total - 1 (and 2 * pct * total - 2) must be >= 1 and strictly increasing
    low, high = math.ceil(2000 / total) / 1000 + 0.001, (0.45 if three else 0.9)
    pct = round(draw(st.floats(low, high, allow_nan=False)), 3) if low < high else high
    return {"max_lr": draw(learning_rates), "total_steps": total, "pct_start": max(pct, low),
            "div_factor": draw(st.sampled_from([2.0, 10.0, 25.0, 100.0])),
            "final_div_factor": draw(st.sampled_from([1.0, 10.0, 1e4, 1e5])), "three_phase": three}


@st.composite
def boxes(draw, max_dims: int = 3):
    """A box (d pairs low < high) and a budget k**d."""
    d = draw(st.integers(1, max_dims))
    k = draw(st.integers(1, {1: 12, 2: 7, 3: 5}[d]))
    bounds = []
    for _ in range(d):
        low = draw(st.sampled_from([-5.0, -1.0, 0.0, 1e-4, 0.5, 3.0]))
        bounds.append((low, low + draw(st.sampled_from([0.1, 1.0, 2.5, 10.0]))))
    return {"bounds": bounds, "k": k, "budget": k ** d, "axis": draw(st.integers(0, d - 1)), "seed": draw(seeds)}


@st.composite
def range_test_cases(draw):
    """A tiny float64 MLP (with BatchNorm in some cases), a list of batches, an LR range."""
    lr_min = draw(st.sampled_from([1e-5, 1e-4, 1e-3]))
    return {"features": draw(st.integers(2, 5)), "hidden": draw(st.integers(2, 6)), "classes": draw(st.integers(2, 3)),
            "batchnorm": draw(st.booleans()), "batches": draw(st.integers(1, 4)), "batch_size": draw(st.integers(2, 6)),
            "lr_min": lr_min, "lr_max": lr_min * draw(st.sampled_from([10.0, 100.0, 1000.0])),
            "steps": draw(st.integers(2, 12)), "seed": draw(seeds), "train_mode": draw(st.booleans())}
