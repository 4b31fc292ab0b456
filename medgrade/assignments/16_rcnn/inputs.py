"""Input generators of 16_rcnn: strategies draw small descriptions (sizes, thresholds, a seed);
tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

CLIP = math.log(1000.0 / 16)          # torchvision's bbox_xform_clip

# ---------------------------------------------------------------- anchors

ratios = st.one_of(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]),
                   st.floats(0.2, 5.0).map(lambda r: round(r, 3)))


@st.composite
def anchor_specs(draw):
    """Anchor sizes (distinct ints, as torchvision's are) and aspect ratios (height / width)."""
    sizes = draw(st.lists(st.integers(1, 256), min_size=1, max_size=4, unique=True))
    return {"sizes": sizes, "aspect_ratios": draw(st.lists(ratios, min_size=1, max_size=3)),
            "dtype": draw(st.sampled_from(NORM_DTYPES))}


@st.composite
def grid_specs(draw):
    """Anchors of one position (rounded ones from sizes and ratios, or arbitrary floats), a
    feature map size and a stride (an int or a (height, width) pair)."""
    spec = draw(anchor_specs())
    stride = draw(st.one_of(st.integers(1, 64), st.tuples(st.integers(1, 64), st.integers(1, 64))))
    return {**spec, "feature_size": (draw(st.integers(1, 7)), draw(st.integers(1, 7))), "stride": stride,
            "arbitrary": draw(st.booleans()), "seed": draw(seeds)}


# ---------------------------------------------------------------- box coding

def boxes_from_seed(n: int, seed: int, dtype=torch.float64, min_side: float = 1.0) -> torch.Tensor:
    """``n`` boxes in a 100-pixel image, each side at least ``min_side`` long."""
    g = torch.Generator().manual_seed(int(seed))
    xy = torch.rand((n, 2), generator=g, dtype=torch.float64) * 100
    wh = torch.rand((n, 2), generator=g, dtype=torch.float64) * 60 + min_side
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


weights = st.one_of(st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]),
                    st.tuples(*[st.sampled_from([0.5, 1.0, 2.0, 10.0, 20.0])] * 4))


@st.composite
def coder_specs(draw, max_n: int = 10):
    return {"n": draw(st.integers(0, max_n)), "classes": draw(st.integers(1, 3)), "weights": draw(weights),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


def deltas_from_seed(n: int, classes: int, weights, seed: int, low: float = -3.0, high: float = 3.5,
                     dtype=torch.float64) -> torch.Tensor:
    """(n, 4 * classes) deltas whose scaled-back size parts dw / ww, dh / wh lie in [low, high)
    (below the clip, log(1000 / 16) = 4.14, unless high is above it) and centre parts in [-2, 2)."""
    g = torch.Generator().manual_seed(int(seed) + 1)
    d = torch.rand((n, classes, 4), generator=g, dtype=torch.float64)
    d[..., :2] = d[..., :2] * 4 - 2
    d[..., 2:] = d[..., 2:] * (high - low) + low
    d = d * torch.tensor(weights, dtype=torch.float64)
    return d.reshape(n, 4 * classes).to(dtype)


# ---------------------------------------------------------------- matching

_BOOLEANS = st.booleans()


@st.composite
def match_specs(draw, allow=_BOOLEANS):
    """A (M, N) quality matrix on the grid k / 16 (exact in binary, so values equal to a threshold
    are common), some columns all zero; thresholds on the same grid, low <= high."""
    a, b = draw(st.integers(0, 16)), draw(st.integers(0, 16))
    return {"m": draw(st.integers(1, 5)), "n": draw(st.integers(1, 24)), "high": max(a, b) / 16,
            "low": min(a, b) / 16, "allow": draw(allow), "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "seed": draw(seeds)}


def quality_from_seed(m: int, n: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    q = torch.randint(0, 17, (m, n), generator=g).double() / 16
    q[:, torch.rand(n, generator=g) < 0.2] = 0.0                # anchors that touch no ground truth
    q = q * (torch.rand((m, n), generator=g) < 0.7)             # sparse, as IoUs are
    return q.to(dtype)


# ---------------------------------------------------------------- sampling

@st.composite
def sample_specs(draw):
    """Labels (1 positive, 0 negative, -1 ignored) and a batch to draw from them."""
    return {"n": draw(st.integers(0, 60)), "batch_size": draw(st.integers(1, 40)),
            "positive_fraction": draw(st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]),
                                                st.floats(0.05, 0.95).map(lambda f: round(f, 2)))),
            "positive_rate": draw(st.sampled_from([0.05, 0.2, 0.5, 0.9])),
            "dtype": draw(st.sampled_from(["float32", "int64"])), "seed": draw(seeds)}


def labels_from_seed(n: int, positive_rate: float, seed: int, dtype: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed) + 5)
    u = torch.rand(n, generator=g)
    labels = torch.where(u < positive_rate, 1, torch.where(u < positive_rate + (1 - positive_rate) * 0.7, 0, -1))
    return labels.to(torch.float32 if dtype == "float32" else torch.int64)


# ---------------------------------------------------------------- RoI pooling

DYADIC_SCALES = [1.0, 0.5, 0.25, 0.125]


_DYADIC = st.sampled_from(DYADIC_SCALES)
_FIXED_SAMPLING = st.sampled_from([1, 2, 3])
_NOT_ALIGNED = st.just(False)
_NORM_DTYPES = st.sampled_from(NORM_DTYPES)


@st.composite
def roi_specs(draw, scales=_DYADIC, sampling=_FIXED_SAMPLING, aligned=_NOT_ALIGNED, dtypes=_NORM_DTYPES,
              max_out: int = 5):
    """A feature map (N, C, H, W) <= (2, 3, 12, 12), up to 6 RoIs in image coordinates (some
    partly or wholly outside the map, some tiny or of zero size, half of them with corners on a
    half-pixel grid of the feature map), an output size, a spatial scale, a sampling ratio."""
    out = draw(st.one_of(st.integers(1, max_out), st.tuples(st.integers(1, max_out), st.integers(1, max_out))))
    return {"batch": draw(st.integers(1, 2)), "channels": draw(st.integers(1, 3)),
            "height": draw(st.integers(1, 12)), "width": draw(st.integers(1, 12)),
            "rois": draw(st.integers(0, 6)), "output_size": out, "spatial_scale": draw(scales),
            "sampling_ratio": draw(sampling), "aligned": draw(aligned),
            "dtype": draw(dtypes), "seed": draw(seeds)}


def rois_from_seed(k: int, batch: int, height: int, width: int, scale: float, seed: int,
                   dtype=torch.float64) -> torch.Tensor:
    """(k, 5) RoIs (batch index, x1, y1, x2, y2) in image coordinates (feature coordinates / scale)."""
    g = torch.Generator().manual_seed(int(seed) + 7)
    rows = []
    for _ in range(k):
        b = float(torch.randint(0, batch, (1,), generator=g))
        u = torch.rand(6, generator=g, dtype=torch.float64)
        x1 = -3 + u[0] * (width + 3)
        y1 = -3 + u[1] * (height + 3)
        kind = int(u[4] * 4)
        if kind == 0:        # tiny: under a pixel of the feature map
            w, h = u[2] * 0.9, u[3] * 0.9
        elif kind == 1:      # a zero side
            w, h = (0.0, u[3] * 6) if u[5] < 0.5 else (u[2] * 6, 0.0)
        else:
            w, h = 0.5 + u[2] * (width + 2), 0.5 + u[3] * (height + 2)
        box = torch.tensor([x1, y1, x1 + w, y1 + h], dtype=torch.float64)
        if u[5] < 0.5:       # corners on the half-pixel grid: rounding of x.5 is exercised
            box = torch.round(box * 2) / 2
        rows.append(torch.cat([torch.tensor([b], dtype=torch.float64), box / scale]))
    return (torch.stack(rows) if rows else torch.zeros((0, 5), dtype=torch.float64)).to(dtype)


def features_from_seed(batch: int, channels: int, height: int, width: int, seed: int,
                       dtype=torch.float64) -> torch.Tensor:
    """Values in [-1, 1), all distinct with probability one (no ties for max pooling)."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.rand((batch, channels, height, width), generator=g, dtype=torch.float64) * 2 - 1).to(dtype)
