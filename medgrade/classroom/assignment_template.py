"""What ``./course new ID "Title"`` writes (:mod:`medgrade.classroom.new_assignment`).

A new assignment starts as a chapter with one example task, a CT display window, graded by two
aspects (its values; its contract: shape, dtype, input left unchanged), each broken by two
mutants, with an honest variant beside them. It is small, but it has every part a real chapter
has and passes the course's tests, so each part can be replaced by the chapter's own while those
tests keep saying what is still missing.

The texts hold three markers, replaced when they are written: ``__ID__`` (``12_segmentation``),
``__NN__`` (``12``) and ``__TITLE__``.
"""
from __future__ import annotations

# The example task, its answer cell and its aspects: ``new_assignment`` refuses an ID when
# another assignment already declares one of these aspect ids (they are global).
TASK = "ct_window"
ASPECTS = {"ct_window_correct": 2, "ct_window_contract": 1}

# ---------------------------------------------------------------- the notebook, cell by cell
# (kind, role, grade id, points, source); role: "setup", "answer", "grade" or None (a free cell).

TITLE_CELL = """\
# __NN__ · __TITLE__

> **Q00** (the interview question, in 繁體中文)
>
> **Reading list** (the reading list's topics, in 繁體中文)

**In English.** Q00: *(the question, translated)*. Reading list: *(the topics, translated)*.

### What an interviewer listens for

- (what a strong answer says first)
- (the trade-offs, numbers and pitfalls a follow-up question probes)"""

SETUP_CELL = """\
import matplotlib.pyplot as plt
import numpy as np
import torch

from medimg.data import phantom
from medimg.plot import show_images

torch.manual_seed(0)
plt.rcParams["figure.dpi"] = 90"""

TASK_INTRO = """\
## 1 · A CT display window (窗寬窗位)

A CT scanner measures attenuation in Hounsfield units (HU): air is $-1000$, water 0, soft tissue
20 to 80, bone 400 and more. A screen, and the input layer of a network, want values in $[0, 1]$,
and a radiologist reads one range of HU at a time: a **window** of centre $L$ (the level, 窗位) and
width $W$ (窗寬) maps

$$
x \\mapsto \\operatorname{clip}\\!\\left(\\frac{x - (L - W/2)}{W},\\ 0,\\ 1\\right),
$$

so everything below $L - W/2$ is black and everything above $L + W/2$ white. The usual windows:
soft tissue $(40, 400)$, lung $(-600, 1500)$, bone $(400, 1800)$, brain $(40, 80)$."""

ANSWER = '''\
def ct_window(hu: torch.Tensor, level: float, width: float) -> torch.Tensor:
    """Map CT intensities in Hounsfield units to [0, 1] through the display window (level, width).

    hu: a floating-point tensor of any shape (a slice, a volume, a batch)
    level: the window's centre; width: its width (> 0); both in Hounsfield units
    Values at or below level - width / 2 map to 0, at or above level + width / 2 to 1, linearly
    in between. Returns a new tensor of hu's shape and dtype; hu is left unchanged.
    """
    ### BEGIN SOLUTION
    lower = level - width / 2
    return ((hu - lower) / width).clamp(0.0, 1.0)
    ### END SOLUTION'''

CORRECT_INTRO = """\
The values: compared with NumPy's `np.interp` in float64, for random windows (a width of 1 HU
included: a threshold) on float32 and float64 images."""

CORRECT_TESTS = """\
hu = torch.tensor([-1000.0, -160.0, 40.0, 240.0, 1000.0])   # air, the soft-tissue window's edges and centre, bone
assert torch.allclose(ct_window(hu, level=40, width=400), torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
assert torch.allclose(ct_window(hu, -600, 1500), (hu + 1350).clamp(0, 1500) / 1500)   # the lung window

### BEGIN HIDDEN TESTS
from medgrade import grade
grade("ct_window_correct", ct_window)
### END HIDDEN TESTS"""

CONTRACT_INTRO = """\
The contract: the input's shape and dtype for a slice, a volume, a batch or an empty tensor, with
keyword arguments, and the input left as it was."""

CONTRACT_TESTS = """\
volume = torch.linspace(-1000.0, 1000.0, 24, dtype=torch.float64).reshape(2, 3, 4)
before = volume.clone()
out = ct_window(volume, level=40, width=400)
assert out.shape == volume.shape and out.dtype == torch.float64
assert torch.equal(volume, before), "the input must not be modified"

### BEGIN HIDDEN TESTS
from medgrade import grade
grade("ct_window_contract", ct_window)
### END HIDDEN TESTS"""

FIGURE_INTRO = """\
One slice, three windows: each shows one range of tissue and saturates the rest."""

FIGURE = """\
slice_hu = phantom(128) * 2000 - 1000        # the Shepp-Logan phantom, from air (-1000 HU) to 1000 HU
windows = {"soft tissue (40, 400)": (40, 400), "lung (-600, 1500)": (-600, 1500), "bone (400, 1800)": (400, 1800)}
show_images([ct_window(slice_hu, level, width) for level, width in windows.values()], titles=list(windows))
plt.show()"""

CELLS = [
    ("markdown", None, None, None, TITLE_CELL),
    ("code", "setup", "setup", None, SETUP_CELL),
    ("markdown", None, None, None, TASK_INTRO),
    ("code", "answer", "ct_window_answer", None, ANSWER),
    ("markdown", None, None, None, CORRECT_INTRO),
    ("code", "grade", "ct_window_correct", ASPECTS["ct_window_correct"], CORRECT_TESTS),
    ("markdown", None, None, None, CONTRACT_INTRO),
    ("code", "grade", "ct_window_contract", ASPECTS["ct_window_contract"], CONTRACT_TESTS),
    ("markdown", None, None, None, FIGURE_INTRO),
    ("code", None, None, None, FIGURE),
]

# ---------------------------------------------------------------- medgrade/assignments/<id>/

INIT = '''\
"""__ID__: __TITLE__."""
'''

CHECKS = '''\
"""Checks of __ID__: __TITLE__."""
from __future__ import annotations

import torch

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, expect_tensor
from medgrade.properties import call, check_property, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "__ID__"


def _hu(case) -> torch.Tensor:
    """The case's image in Hounsfield units, made from its seed."""
    return tensor_from_seed(case["shape"], case["seed"], low=S.HU_MIN, high=S.HU_MAX,
                            dtype=norm_dtype(case["dtype"]))


def _tolerance(dtype: torch.dtype, width: float) -> dict:
    """The rounding of (hu - lower) / width in the image's dtype: a few ulps of the largest
    difference in HU, over the width. A real mistake (no clipping, a window shifted by half its
    width) is off by 0.1 or more."""
    return dict(rtol=0.0, atol=8 * torch.finfo(dtype).eps * (1.0 + 2 * (S.HU_MAX - S.HU_MIN) / width))


_showing_inputs = showing(lambda case: {"hu": _hu(case), "level": case["level"], "width": case["width"]})


# ---------------------------------------------------------------- ct_window

@aspect(A, task="ct_window", points=2)
def ct_window_correct(ct_window):
    """ct_window is 0 below the window, 1 above it and linear in between, for every level and width."""

    @_showing_inputs
    def same_as_reference(case):
        hu = _hu(case)
        expected = oracles.ct_window(hu, case["level"], case["width"])
        got = call(ct_window, hu, case["level"], case["width"])
        assert_close(got, expected, **_tolerance(hu.dtype, case["width"]), what="the windowed image")

    yield check_property(
        "equals the clipped linear map of the window for every level and width, float32 and float64",
        S.window_cases(), same_as_reference, max_examples=100,
        examples=[{"shape": (4, 4), "dtype": "float32", "level": 40, "width": 400, "seed": 1},     # soft tissue
                  {"shape": (3, 5), "dtype": "float64", "level": -600, "width": 1500, "seed": 2},  # lung
                  {"shape": (2, 3, 3), "dtype": "float32", "level": 400, "width": 1800, "seed": 3},
                  {"shape": (8,), "dtype": "float64", "level": 0, "width": 1, "seed": 4}])         # a threshold


@aspect(A, task="ct_window", points=1)
def ct_window_contract(ct_window):
    """ct_window keeps the input's shape and dtype (a slice, a volume, an empty tensor) and leaves it unchanged."""

    @_showing_inputs
    def keeps_shape_dtype_and_input(case):
        hu = _hu(case)
        before = hu.clone()
        got = call(ct_window, hu, level=case["level"], width=case["width"])
        expect_tensor(got, what="ct_window's result", shape=hu.shape, dtype=hu.dtype)
        if not torch.equal(hu, before):
            raise CheckFailed("ct_window modified its input hu in place: it must return a new tensor "
                              "and leave hu as it was")

    yield check_property(
        "the input's shape and dtype, any number of dimensions (none, or an empty one), keyword arguments, "
        "the input unchanged",
        S.window_cases(min_side=0, max_dims=4), keeps_shape_dtype_and_input, max_examples=30,
        examples=[{"shape": (2, 3, 4), "dtype": "float64", "level": 40, "width": 400, "seed": 5},
                  {"shape": (0, 3), "dtype": "float32", "level": 40, "width": 400, "seed": 6},
                  {"shape": (), "dtype": "float64", "level": -600, "width": 1500, "seed": 7}])
'''

INPUTS = '''\
"""Input generators of __ID__: strategies draw small descriptions (a shape, a dtype, a window, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

# what a CT image holds: 12-bit values from below air to dense bone, in Hounsfield units
HU_MIN, HU_MAX = -1024.0, 3071.0


@st.composite
def window_cases(draw, min_side: int = 1, max_dims: int = 3):
    """An image (shape, dtype, seed) and a display window (level, width) in Hounsfield units."""
    dims = draw(st.integers(0 if min_side == 0 else 1, max_dims))
    shape = tuple(draw(st.lists(st.integers(min_side, 6), min_size=dims, max_size=dims)))
    return {"shape": shape,
            "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "level": draw(st.integers(-1000, 2000)),
            "width": draw(st.integers(1, 4000)),
            "seed": draw(seeds)}
'''

REFERENCE = '''\
"""The references of __ID__'s checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import numpy as np
import torch


def ct_window(hu: torch.Tensor, level: float, width: float) -> torch.Tensor:
    """The display window by linear interpolation between its edges (np.interp holds the ends)."""
    edges = [level - width / 2, level + width / 2]
    values = np.interp(hu.detach().double().numpy().reshape(-1), edges, [0.0, 1.0])
    return torch.from_numpy(values).reshape(hu.shape).to(hu.dtype)
'''

MUTANTS = '''\
"""Known-wrong answers of __ID__ (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

CORRECT = "ct_window_correct"
CONTRACT = "ct_window_contract"

MUTANTS = [
    # ---------------------------------------------------------------- ct_window
    Mutant("ct_window_without_clipping", "ct_window",
           ((".clamp(0.0, 1.0)", ""),),
           breaks=(CORRECT,), keeps=(CONTRACT,),
           why="the linear map alone: values outside the window go below 0 and above 1"),
    Mutant("ct_window_starts_at_level", "ct_window",
           (("lower = level - width / 2", "lower = level"),),
           breaks=(CORRECT,), keeps=(CONTRACT,),
           why="takes the level for the window's lower edge instead of its centre"),
    Mutant("ct_window_in_place", "ct_window",
           (("return ((hu - lower) / width).clamp(0.0, 1.0)", "return hu.sub_(lower).div_(width).clamp_(0.0, 1.0)"),),
           breaks=(CONTRACT,), keeps=(CORRECT,),
           why="windows the image in place: the caller's HU values are gone"),
    Mutant("ct_window_always_float32", "ct_window",
           (("return ((hu - lower) / width)", "return ((hu.float() - lower) / width)"),),
           breaks=(CONTRACT, CORRECT),
           why="converts to float32 first: a float64 volume comes back in float32"),
    # honest alternatives
    Mutant("ct_window_from_the_centre", "ct_window",
           (("    lower = level - width / 2\\n    return ((hu - lower) / width).clamp(0.0, 1.0)\\n",
             "    return torch.clip(0.5 + (hu - level) / width, min=0.0, max=1.0)\\n"),),
           breaks=(), keeps=(CORRECT, CONTRACT),
           why="honest: measured from the window's centre, torch.clip with keywords"),
]

# the mistakes of the demo's buggy student: each loses the values and keeps the contract
DEMO = ("ct_window_without_clipping", "ct_window_starts_at_level")
'''

FILES = {"__init__.py": INIT, "checks.py": CHECKS, "inputs.py": INPUTS, "reference.py": REFERENCE,
         "mutants.py": MUTANTS}
