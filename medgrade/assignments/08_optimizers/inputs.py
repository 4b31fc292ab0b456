"""Input generators of 08_optimizers: a case is a short description (parameter shapes and dtypes, the
number of steps, a seed, the optimizer's hyper-parameters); the parameters and the gradients of every
step are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds


def _rate(low: float, high: float):
    """A float in [low, high], rounded to 3 significant digits (it prints well)."""
    return st.floats(low, high).map(lambda x: float(f"{x:.3g}"))


def _maybe(strategy):
    """0.0 (the option off) or a value of ``strategy``."""
    return st.one_of(st.just(0.0), strategy)


# eps from the default up to large: eps inside or outside a square root only differs when eps is
# not negligible next to the second moment
_EPS = st.sampled_from([1e-8, 1e-3, 0.05, 0.5])


@st.composite
def sgd_hyper(draw):
    momentum = draw(_maybe(_rate(0.1, 0.95)))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(_maybe(_rate(0.1, 0.9)))
    return {"lr": draw(_rate(0.01, 1.0)), "momentum": momentum, "dampening": dampening,
            "nesterov": nesterov, "weight_decay": draw(_maybe(_rate(0.01, 0.5)))}


@st.composite
def adagrad_hyper(draw):
    return {"lr": draw(_rate(0.01, 1.0)), "lr_decay": draw(_maybe(_rate(0.05, 1.0))),
            "weight_decay": draw(_maybe(_rate(0.01, 0.5))),
            "initial_accumulator_value": draw(_maybe(_rate(0.01, 1.0))),
            "eps": draw(st.sampled_from([1e-10, 1e-3, 0.05, 0.5]))}


@st.composite
def adadelta_hyper(draw):
    return {"lr": draw(_rate(0.1, 2.0)), "rho": draw(_rate(0.5, 0.99)),
            "eps": draw(st.sampled_from([1e-6, 1e-3, 0.05, 0.5])),
            "weight_decay": draw(_maybe(_rate(0.01, 0.5)))}


@st.composite
def rmsprop_hyper(draw):
    return {"lr": draw(_rate(0.001, 0.1)), "alpha": draw(_rate(0.5, 0.99)), "eps": draw(_EPS),
            "weight_decay": draw(_maybe(_rate(0.01, 0.5))), "momentum": draw(_maybe(_rate(0.1, 0.95))),
            "centered": draw(st.booleans())}


@st.composite
def adam_hyper(draw, decoupled: bool = False):
    return {"lr": draw(_rate(0.001, 0.1)), "betas": (draw(_rate(0.5, 0.95)), draw(_rate(0.6, 0.999))),
            "eps": draw(_EPS),
            "weight_decay": draw(_rate(0.0, 1.0) if decoupled else _maybe(_rate(0.01, 0.5))),
            "amsgrad": draw(st.booleans())}


# the keyword arguments of each task, in the order its signature lists them
HYPER_NAMES = {
    "sgd_step": ("lr", "momentum", "dampening", "nesterov", "weight_decay"),
    "adagrad_step": ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "adadelta_step": ("lr", "rho", "eps", "weight_decay"),
    "rmsprop_step": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered"),
    "adam_step": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "adamw_step": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
}

HYPER = {"sgd_step": sgd_hyper(), "adagrad_step": adagrad_hyper(), "adadelta_step": adadelta_hyper(),
         "rmsprop_step": rmsprop_hyper(), "adam_step": adam_hyper(), "adamw_step": adam_hyper(decoupled=True)}


@st.composite
def step_cases(draw, task: str, none_rate: float = 0.0):
    """k steps (1 to 8) on 1 to 3 parameters of random shapes (0 to 3 dims) and dtypes; the gradients
    of each step are made from the seed: some are all zero, and with ``none_rate`` > 0 some are None;
    the learning rate may change from step to step (``lr_gamma``)."""
    n = draw(st.integers(1, 3))
    shapes = [tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))) for _ in range(n)]
    case = {"shapes": shapes, "dtypes": [draw(st.sampled_from(NORM_DTYPES)) for _ in range(n)],
            "steps": draw(st.integers(1, 8)), "seed": draw(seeds),
            # the gradients are U[-s, s): small, typical, and larger than 1 (clipping shows)
            "grad_scale": draw(st.sampled_from([1.0, 0.1, 4.0])),
            # the learning rate of step s (1-based) is lr * lr_gamma ** (s - 1): constant, or changed
            # between calls as a scheduler changes it (decay or warm-up)
            "lr_gamma": draw(st.sampled_from([1.0, 0.6, 1.3]))}
    if none_rate:
        case["none_rate"] = none_rate
    case.update(draw(HYPER[task]))        # the hyper-parameters, flat: the case prints as one list
    return case
