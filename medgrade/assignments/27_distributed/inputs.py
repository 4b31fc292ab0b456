"""Input generators of 27_distributed: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import seeds


@st.composite
def shard_cases(draw, shuffle: bool):
    """A DistributedSampler setting: data set size 0..200 (often smaller than the world or not a
    multiple of it), 1..8 ranks, one rank, drop_last either way, seed and epoch."""
    world = draw(st.integers(1, 8))
    size = draw(st.one_of(st.integers(0, 2 * world), st.integers(0, 200)))
    return {"dataset_size": size, "world_size": world, "rank": draw(st.integers(0, world - 1)),
            "shuffle": shuffle, "drop_last": draw(st.booleans()),
            "seed": draw(st.integers(0, 10_000)) if shuffle else 0,
            "epoch": draw(st.integers(0, 50)) if shuffle else 0}


@st.composite
def amp_cases(draw, scaler: bool = False):
    """A small classifier and a few mixed-precision steps: sizes, learning rate, seed; with
    ``scaler`` an initial GradScaler scale and which steps overflow."""
    steps = draw(st.integers(1, 3))
    case = {"n": draw(st.integers(1, 24)), "features": draw(st.integers(2, 24)),
            "hidden": draw(st.integers(2, 32)), "classes": draw(st.integers(2, 6)),
            "lr": draw(st.sampled_from([0.01, 0.1, 0.5])), "steps": steps, "seed": draw(seeds)}
    if scaler:
        case["init_scale"] = 2.0 ** draw(st.integers(0, 24))
        case["overflow"] = draw(st.lists(st.booleans(), min_size=steps, max_size=steps))
    return case
