"""Input generators of 04_cnn_classifier: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

from medgrade.common.tensors import norm_dtype, seeds


@st.composite
def labelled_scores(draw, min_n: int = 0, max_n: int = 40, both_classes: bool = True):
    """Binary labels and scores: n, a seed, how coarse the score grid is (coarse: many ties),
    the fraction of positives and the dtype of the scores."""
    n = draw(st.integers(max(min_n, 2 if both_classes else 0), max_n))
    return {"n": n, "seed": draw(seeds), "levels": draw(st.sampled_from([2, 3, 5, 16, 0])),
            "positives": draw(st.sampled_from([0.1, 0.3, 0.5, 0.8])),
            "dtype": draw(st.sampled_from(["float64", "float32"])), "both": both_classes}


def scores_from_case(case) -> tuple[torch.Tensor, torch.Tensor]:
    """(y_true int64 (n,), scores (n,)) of a :func:`labelled_scores` case; levels = 0: continuous
    scores (distinct in practice), else scores on a grid of that many values (ties)."""
    n, seed = case["n"], case["seed"]
    g = torch.Generator().manual_seed(int(seed))
    y = (torch.rand(n, generator=g, dtype=torch.float64) < case["positives"]).long()
    if case["both"] and n >= 2 and (y.min() == y.max()):
        y[0], y[-1] = 0, 1
    if case["levels"]:
        s = torch.randint(0, case["levels"], (n,), generator=g).double() / case["levels"]
    else:
        s = torch.rand(n, generator=g, dtype=torch.float64)
    s = s + 0.3 * y * torch.rand(n, generator=g, dtype=torch.float64) * (case["levels"] == 0)
    return y, s.to(norm_dtype(case["dtype"]))


@st.composite
def class_label_cases(draw, min_n: int = 0, max_n: int = 50, max_classes: int = 5):
    """Labels and predictions in 0 .. K-1: n, K, a seed, how often the prediction is right."""
    return {"n": draw(st.integers(min_n, max_n)), "classes": draw(st.integers(2, max_classes)),
            "seed": draw(seeds), "accuracy": draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))}


def labels_from_case(case) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(int(case["seed"]))
    n, k = case["n"], case["classes"]
    y = torch.randint(0, k, (n,), generator=g)
    other = (y + torch.randint(1, k, (n,), generator=g)) % k
    right = torch.rand(n, generator=g) < case["accuracy"]
    return y, torch.where(right, y, other)


@st.composite
def schedule_cases(draw):
    """trainingOptions learning-rate settings and a number of epochs to read the rate at."""
    return {"InitialLearnRate": draw(st.sampled_from([1e-3, 0.01, 0.05, 0.3, 1.0])),
            "LearnRateSchedule": draw(st.sampled_from(["piecewise", "piecewise", "none"])),
            "LearnRateDropFactor": draw(st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.9, 1.0])),
            "LearnRateDropPeriod": draw(st.integers(1, 12)),
            "epochs": draw(st.integers(1, 25))}


@st.composite
def training_cases(draw, validation: bool | None = None, patience: bool = False, shuffle=("never",)):
    """A tiny training run: data size, network shape, trainingOptions, class weights, seed.

    MiniBatchSize often does not divide the number of samples; ``patience`` draws a finite
    ValidationPatience half of the time (else inf)."""
    n = draw(st.integers(6, 24))
    if validation is None:
        validation = draw(st.booleans())
    return {
        "n": n, "features": draw(st.integers(2, 4)), "hidden": draw(st.integers(2, 5)),
        "classes": draw(st.sampled_from([2, 2, 3])), "batchnorm": draw(st.booleans()),
        "MaxEpochs": draw(st.integers(1, 4)), "MiniBatchSize": draw(st.integers(2, max(2, n // 2))),
        "InitialLearnRate": draw(st.sampled_from([0.01, 0.05, 0.2, 0.5])),
        "LearnRateSchedule": draw(st.sampled_from(["none", "piecewise"])),
        "LearnRateDropFactor": draw(st.sampled_from([0.1, 0.5, 1.0])),
        "LearnRateDropPeriod": draw(st.integers(1, 3)),
        "Momentum": draw(st.sampled_from([0.0, 0.5, 0.9])),
        "L2Regularization": draw(st.sampled_from([0.0, 1e-4, 1e-2])),
        "Shuffle": draw(st.sampled_from(list(shuffle))),
        "ValidationFrequency": draw(st.integers(1, 5)),
        "ValidationPatience": (draw(st.sampled_from([1, 2, 3, float("inf")])) if patience else float("inf")),
        "validation": validation, "n_val": draw(st.integers(1, 9)),
        "weighted": draw(st.booleans()), "seed": draw(seeds),
    }


@st.composite
def scripted_validation_cases(draw):
    """A validation-loss script (one value per iteration, drawn from a few levels so that ties
    are common) with ValidationFrequency and ValidationPatience."""
    n = draw(st.integers(4, 16))
    batch = draw(st.integers(1, n))
    epochs = draw(st.integers(1, 5))
    iterations = epochs * (n // batch)
    levels = draw(st.sampled_from([2, 3, 6]))
    script = draw(st.lists(st.integers(0, levels - 1), min_size=iterations + 1, max_size=iterations + 1))
    return {"n": n, "MiniBatchSize": batch, "MaxEpochs": epochs,
            "ValidationFrequency": draw(st.integers(1, 4)),
            "ValidationPatience": draw(st.sampled_from([1, 2, 3, float("inf")])),
            "script": [0.3 + 0.2 * v for v in script], "seed": draw(seeds)}


@st.composite
def dataset_cases(draw):
    """Images (N, C, H, W) and labels for a Dataset, with or without a transform."""
    return {"n": draw(st.integers(1, 10)), "channels": draw(st.integers(1, 2)),
            "size": (draw(st.integers(2, 6)), draw(st.integers(2, 6))),
            "transform": draw(st.sampled_from([None, "affine", "flip"])),
            "batch_size": draw(st.integers(1, 4)), "seed": draw(seeds)}


@st.composite
def small_cnn_cases(draw):
    """SmallCNN(in_channels, num_classes) on a batch (N, in_channels, H, W), H and W multiples of 4."""
    return {"in_channels": draw(st.integers(1, 3)), "num_classes": draw(st.integers(2, 4)),
            "batch": draw(st.integers(1, 4)),
            "size": (draw(st.sampled_from([16, 20, 32, 40])), draw(st.sampled_from([16, 24, 32]))),
            "seed": draw(seeds)}
