"""Input generators of 12_segmentation_metrics.

Strategies draw small descriptions, not tensors: a binary mask is an image size and a few parts
(rectangles, disks, single pixels, holes, speckle from a seed), a label map a shape, the classes each
side uses and a seed. :func:`mask_from` and :func:`labels_from` make the tensors, so a counterexample
prints as a few numbers that rebuild it exactly.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from medgrade.common.tensors import seeds

# ---------------------------------------------------------------- binary masks (H, W)

PART_KINDS = ("rect", "disk", "pixel", "hole", "speckle")


def mask_from(desc: dict) -> torch.Tensor:
    """The bool (H, W) mask of a description: the union of its parts, then its holes cut out.

    rect (y, x, h, w): rows y..y+h-1, columns x..x+w-1 (clipped at the image's edge);
    disk (cy, cx, r): pixels whose centre is within r of (cy, cx) (may leave the image);
    pixel (y, x); speckle (seed, percent): each pixel on with that probability;
    hole (y, x, h, w): a rectangle set back to False after the other parts.
    """
    h, w = desc["shape"]
    m = np.zeros((h, w), dtype=bool)
    yy, xx = np.mgrid[0:h, 0:w]
    holes = []
    for part in desc["parts"]:
        kind = part[0]
        if kind == "rect":
            _, y, x, ph, pw = part
            m[y:y + ph, x:x + pw] = True
        elif kind == "disk":
            _, cy, cx, r = part
            m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        elif kind == "pixel":
            _, y, x = part
            m[y, x] = True
        elif kind == "speckle":
            _, seed, percent = part
            m |= np.random.default_rng(seed).random((h, w)) < percent / 100
        elif kind == "hole":
            holes.append(part)
        else:
            raise ValueError(f"unknown part {kind!r}")
    for _, y, x, ph, pw in holes:
        m[y:y + ph, x:x + pw] = False
    return torch.from_numpy(m)


@st.composite
def _part(draw, h: int, w: int, kinds=PART_KINDS):
    kind = draw(st.sampled_from(kinds))
    y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    if kind in ("rect", "hole"):
        return (kind, y, x, draw(st.integers(1, max(1, h - y))), draw(st.integers(1, max(1, w - x))))
    if kind == "disk":
        return (kind, y, x, draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.5, 7.0, 9.0])))
    if kind == "pixel":
        return (kind, y, x)
    return (kind, draw(seeds), draw(st.sampled_from([3, 10, 30, 60])))


@st.composite
def masks(draw, shape=None, min_side: int = 1, max_side: int = 28, max_parts: int = 3,
          nonempty: bool = False, kinds=PART_KINDS):
    """A mask description {"shape": (H, W), "parts": [...]}; ``shape`` fixed or drawn."""
    if shape is None:
        shape = (draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side)))
    h, w = shape
    parts = draw(st.lists(_part(h, w, kinds), min_size=0, max_size=max_parts))
    if nonempty:
        solid = [k for k in kinds if k != "hole"] or ["pixel"]
        parts = [draw(_part(h, w, tuple(solid)))] + parts
        desc = {"shape": (h, w), "parts": parts}
        if not bool(mask_from(desc).any()):            # a hole cut everything: keep a pixel
            desc["parts"].append(("pixel", parts[0][1], parts[0][2]) if parts[0][0] != "speckle" else ("pixel", 0, 0))
        return desc
    return {"shape": (h, w), "parts": parts}


def _moved(part, dy: int, dx: int, dr: float):
    kind = part[0]
    if kind in ("rect", "hole"):
        return (kind, max(0, part[1] + dy), max(0, part[2] + dx), part[3], part[4])
    if kind == "disk":
        return (kind, part[1] + dy, part[2] + dx, max(0.5, part[3] + dr))
    if kind == "pixel":
        return part
    return part


@st.composite
def mask_pairs(draw, min_side: int = 1, max_side: int = 28, nonempty: bool = False):
    """(pred, target) descriptions on one image: the prediction is the target moved a little, an
    independent mask, the same mask or (unless ``nonempty``) an empty one."""
    target = draw(masks(min_side=min_side, max_side=max_side, nonempty=nonempty))
    h, w = target["shape"]
    how = draw(st.sampled_from(["moved", "moved", "independent", "same"] + ([] if nonempty else ["empty"])))
    if how == "same":
        pred = {"shape": (h, w), "parts": list(target["parts"])}
    elif how == "empty":
        pred = {"shape": (h, w), "parts": []}
    elif how == "independent":
        pred = draw(masks(shape=(h, w), nonempty=nonempty))
    else:
        dy, dx = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
        dr = draw(st.sampled_from([-1.0, 0.0, 0.5, 1.5]))
        pred = {"shape": (h, w), "parts": [_moved(p, dy, dx, dr) for p in target["parts"]]}
        pred["parts"] += draw(st.lists(_part(h, w), max_size=1))        # sometimes a spurious island
    if nonempty and not bool(mask_from(pred).any()):
        pred["parts"].append(("pixel", h - 1, w - 1))
    if draw(st.booleans()):
        pred, target = target, pred
    return pred, target


# physical pixel sizes (sy, sx) in mm: square, and anisotropic as resampled radiographs and CT have
spacings = st.one_of(
    st.just((1.0, 1.0)),
    st.tuples(st.sampled_from([0.1, 0.143, 0.25, 0.5, 0.7, 1.0, 2.0, 3.0, 5.0]),
              st.sampled_from([0.1, 0.143, 0.25, 0.5, 0.7, 1.0, 2.0, 3.0, 5.0])),
    st.tuples(st.floats(0.05, 6.0), st.floats(0.05, 6.0)),
)


# ---------------------------------------------------------------- label maps (B, *spatial)

LABEL_DTYPES = ("int64", "int32", "uint8")


def labels_from(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, target) label maps of a case: the target's labels from its classes, smooth or not;
    the prediction agrees with it on about ``agree`` percent of the pixels and elsewhere takes
    labels from its own classes."""
    g = torch.Generator().manual_seed(int(case["seed"]))
    shape = tuple(case["shape"])
    dtype = getattr(torch, case["dtype"])

    def draw_from(classes, size):
        pool = torch.tensor(classes, dtype=torch.int64)
        return pool[torch.randint(0, len(pool), size, generator=g)]

    if case["blocky"]:                               # regions of 3 x 3 pixels: boundaries, not noise
        t = draw_from(case["target_classes"], (shape[0], *((s + 2) // 3 for s in shape[1:])))
        for d in range(1, len(shape)):
            t = t.repeat_interleave(3, dim=d)
        t = t[(slice(None), *(slice(0, s) for s in shape[1:]))]
    else:
        t = draw_from(case["target_classes"], shape)
    p = draw_from(case["pred_classes"], shape)
    keep = torch.rand(shape, generator=g) < case["agree"] / 100
    if set(case["pred_classes"]) >= set(case["target_classes"]):
        p = torch.where(keep, t, p)                  # agreement only with labels the prediction uses
    else:
        allowed = torch.isin(t, torch.tensor(case["pred_classes"]))
        p = torch.where(keep & allowed, t, p)
    return p.to(dtype), t.to(dtype)


@st.composite
def label_cases(draw, max_classes: int = 5, max_batch: int = 3, dtypes=LABEL_DTYPES):
    """A label-map case: shape (B, *spatial) with 1 to 3 spatial dimensions, C classes, the classes
    each side uses (a class may be absent from one side, the other, or both), a seed."""
    c = draw(st.integers(1, max_classes))
    dims = draw(st.sampled_from([2, 2, 2, 1, 3]))
    spatial = tuple(draw(st.lists(st.integers(1, 9 if dims < 3 else 5), min_size=dims, max_size=dims)))
    classes = st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True).map(sorted)
    return {"shape": (draw(st.integers(1, max_batch)), *spatial), "classes": c,
            "target_classes": draw(classes), "pred_classes": draw(classes),
            "agree": draw(st.sampled_from([0, 50, 80, 95, 100])), "blocky": draw(st.booleans()),
            "dtype": draw(st.sampled_from(dtypes)), "seed": draw(seeds)}


# ---------------------------------------------------------------- a small lesion (the MSE pitfall)

@st.composite
def small_lesions(draw):
    """A truth mask of 20 to 48 pixels a side holding one small lesion (1 to about 40 pixels):
    a disk, a rectangle or a single pixel, anywhere, the image's edge and corners included."""
    h, w = draw(st.integers(20, 48)), draw(st.integers(20, 48))
    kind = draw(st.sampled_from(["disk", "rect", "pixel"]))
    y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    if kind == "disk":
        part = ("disk", y, x, draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])))
    elif kind == "rect":
        part = ("rect", y, x, draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    else:
        part = ("pixel", y, x)
    return {"shape": (h, w), "parts": [part]}
