"""Boxes in (x1, y1, x2, y2) form: generators and the references for their area and overlaps
(torchvision's, in float64). Shared by the detection assignments."""
from __future__ import annotations

import torch
import torchvision.ops as tvops
from hypothesis import strategies as st

from medgrade.common.tensors import seeds


def boxes_from_seed(n: int, seed: int, *, grid: bool = False, dtype=torch.float32,
                    canvas: float = 100.0) -> torch.Tensor:
    """``n`` valid boxes (x1, y1, x2, y2) with x1 < x2 and y1 < y2.

    ``grid=True`` puts corners on a coarse integer grid, which makes exact
    duplicates, shared edges and nested boxes common.
    """
    g = torch.Generator().manual_seed(int(seed))
    if grid:
        xy = torch.randint(0, 8, (n, 2), generator=g).double()
        wh = torch.randint(1, 5, (n, 2), generator=g).double()
    else:
        xy = torch.rand((n, 2), generator=g, dtype=torch.float64) * canvas
        wh = torch.rand((n, 2), generator=g, dtype=torch.float64) * (canvas / 2) + 0.5
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


@st.composite
def box_sets(draw, min_n: int = 0, max_n: int = 12):
    """A description of a box set: size, seed, and whether corners are on a grid."""
    return {"n": draw(st.integers(min_n, max_n)), "seed": draw(seeds), "grid": draw(st.booleans())}


def distinct_scores(n: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    """``n`` scores in (0, 1], all different (a random permutation of a ladder)."""
    g = torch.Generator().manual_seed(int(seed) + 1)
    return ((torch.randperm(n, generator=g).double() + 1) / (n + 1)).to(dtype)


def box_area(boxes):
    return tvops.box_area(boxes.double()).to(boxes.dtype)


def box_iou(a, b):
    return tvops.box_iou(a.double(), b.double()).to(a.dtype)


def generalized_box_iou(a, b):
    return tvops.generalized_box_iou(a.double(), b.double()).to(a.dtype)
