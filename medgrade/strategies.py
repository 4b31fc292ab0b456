"""Every input generator of the course, in one place.

Strategies draw small structured descriptions (sizes, hyper-parameters, a
seed); tensor contents come from a ``torch.Generator`` seeded by the drawn
seed, so a counterexample is short to print and exact to replay. Elements
are bounded: no NaN or infinity unless a contract says so.
"""
from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def tensor_from_seed(shape, seed: int, *, low: float = -1.0, high: float = 1.0,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform values in [low, high) drawn from ``seed``; the same seed gives the same tensor."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (high - low) + low).to(dtype)


# ---------------------------------------------------------------- convolution

@st.composite
def conv_geometry(draw, max_n: int = 64, max_k: int = 9, max_s: int = 5, max_p: int = 5, max_d: int = 4):
    """One spatial dimension of a convolution (n, k, s, p, d) with at least one output."""
    k = draw(st.integers(1, max_k))
    d = draw(st.integers(1, max_d))
    s = draw(st.integers(1, max_s))
    p = draw(st.integers(0, max_p))
    span = d * (k - 1) + 1
    n = draw(st.integers(max(1, span - 2 * p), max(max(1, span - 2 * p), max_n)))
    return {"n": n, "k": k, "s": s, "p": p, "d": d}


@st.composite
def conv_transpose_geometry(draw, max_n: int = 32):
    """(n, k, s, p, output_padding, d) valid for a transposed convolution."""
    k = draw(st.integers(1, 7))
    d = draw(st.integers(1, 3))
    s = draw(st.integers(1, 4))
    p = draw(st.integers(0, (d * (k - 1)) // 2))
    # torch requires output_padding < max(stride, dilation)
    op = draw(st.integers(0, max(s, d) - 1))
    n = draw(st.integers(1, max_n))
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        n = n + (1 - out + s - 1) // s
    return {"n": n, "k": k, "s": s, "p": p, "output_padding": op, "d": d}


# ---------------------------------------------------------------- normalization

@st.composite
def batchnorm_cases(draw, spatial: bool | None = None):
    """Batch-norm inputs: (N, C) or (N, C, H, W), momentum, eps, seed."""
    if spatial is None:
        spatial = draw(st.booleans())
    n = draw(st.integers(2, 8))
    c = draw(st.integers(1, 6))
    shape = (n, c, draw(st.integers(1, 5)), draw(st.integers(1, 5))) if spatial else (n, c)
    return {
        "shape": shape,
        "momentum": draw(st.sampled_from([0.1, 0.01, 0.5, 0.9, 1.0])),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
        "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
        "seed": draw(seeds),
    }


# ---------------------------------------------------------------- boxes

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


# ---------------------------------------------------------------- 05_batchnorm

NORM_DTYPES = ("float64", "float32")


def norm_dtype(name: str) -> torch.dtype:
    """``"float32"`` -> ``torch.float32`` (cases carry dtype names: they print well)."""
    return {"float32": torch.float32, "float64": torch.float64}[name]


@st.composite
def batchnorm_typed_cases(draw, spatial: bool | None = None, dtypes=NORM_DTYPES):
    """:func:`batchnorm_cases` plus the dtype of every tensor of the call."""
    case = dict(draw(batchnorm_cases(spatial)))
    case["dtype"] = draw(st.sampled_from(dtypes))
    return case


@st.composite
def batchnorm_step_sequences(draw, max_steps: int = 5):
    """Successive training steps of one batch-norm layer.

    Layout, channel count and dtype are fixed for the sequence; each step has
    its own batch shape (often with only 2 values per channel: N*H*W = 2),
    momentum in [0, 1], offset, spread and seed.
    """
    spatial = draw(st.booleans())
    c = draw(st.integers(1, 5))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        if spatial:
            n, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
            if n * h * w < 2:
                n = 2
            shape = (n, c, h, w)
        else:
            shape = (draw(st.integers(2, 6)), c)
        steps.append({
            "shape": shape,
            "momentum": draw(st.floats(0.0, 1.0, allow_nan=False)),
            "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
            "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
            "seed": draw(seeds),
        })
    return {"channels": c, "dtype": draw(st.sampled_from(NORM_DTYPES)), "steps": steps,
            "seed": draw(seeds)}


@st.composite
def layernorm_cases(draw, min_lead: int = 0, max_lead: int = 2):
    """Layer-norm inputs: leading (batch) dims, 1-3 normalized dims and how
    ``normalized_shape`` is spelled (int, tuple, list or torch.Size), eps, dtype, seed."""
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=min_lead, max_size=max_lead)))
    norm = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    forms = ["tuple", "list", "size"] + (["int"] if len(norm) == 1 else [])
    return {
        "lead": lead, "normalized": norm, "form": draw(st.sampled_from(forms)),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
        "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
        "dtype": draw(st.sampled_from(NORM_DTYPES)),
        "seed": draw(seeds),
    }


# ---------------------------------------------------------------- 14_iou_nms: NMS and soft-NMS inputs

def threshold_away_from(ious: torch.Tensor, threshold: float, gap: float = 1e-4) -> float:
    """``threshold``, moved if needed so that no finite IoU in ``ious`` lies within ``gap`` of it.

    An IoU that close to the threshold is decided by rounding, not by the
    algorithm: float32 and float64 can disagree. 0 and 1 stay put (an IoU is
    0 exactly when boxes do not overlap and never exceeds 1, in any precision).
    """
    threshold = float(threshold)
    values = ious.double().flatten()
    values = values[torch.isfinite(values)]
    if threshold in (0.0, 1.0) or not bool(((values - threshold).abs() < gap).any()):
        return threshold
    edges = torch.cat([torch.tensor([0.0, 1.0], dtype=torch.float64), values]).unique()  # sorted
    lo, hi = edges[:-1], edges[1:]
    wide = (hi - lo) > 4 * gap
    mids = ((lo + hi) / 2)[wide]
    return float(mids[(mids - threshold).abs().argmin()])


def _box_iou64(boxes: torch.Tensor) -> torch.Tensor:
    import torchvision.ops as tvops
    return tvops.box_iou(boxes.double(), boxes.double())


def _nms_scores(n: int, seed: int, tied: bool, dtype) -> torch.Tensor:
    if not tied:
        return distinct_scores(n, seed, dtype)
    g = torch.Generator().manual_seed(int(seed) + 2)
    return (torch.randint(1, 4, (n,), generator=g).double() / 4).to(dtype)


def _with_zero_area_boxes(boxes: torch.Tensor, seed: int) -> torch.Tensor:
    """Give about half the boxes zero width or zero height, and repeat one of them."""
    g = torch.Generator().manual_seed(int(seed) + 3)
    boxes = boxes.clone()
    n = boxes.shape[0]
    pick = torch.rand(n, generator=g) < 0.5
    axis = torch.randint(0, 2, (n,), generator=g)
    for i in torch.nonzero(pick).flatten().tolist():
        a = int(axis[i])
        boxes[i, 2 + a] = boxes[i, a]
    if n >= 2 and bool(pick.any()):
        first = int(torch.nonzero(pick)[0])
        boxes[(first + 1) % n] = boxes[first]
    return boxes


iou_thresholds = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]), st.floats(0.02, 0.98))


@st.composite
def nms_inputs(draw, min_n: int = 0, max_n: int = 16, tied=False, degenerate: bool = False,
               threshold=None):
    """{"boxes", "scores", "iou_threshold"} for NMS, with no IoU within 1e-4 of the threshold.

    ``tied``: True for scores drawn from three levels, False for all-distinct
    scores, None to draw either. ``degenerate``: some boxes have zero area.
    ``threshold``: a strategy for the threshold before it is moved away from
    the IoUs (default ``iou_thresholds``: 0, 1 and values in between).
    """
    n = draw(st.integers(min_n, max_n))
    seed = draw(seeds)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    boxes = boxes_from_seed(n, seed, grid=draw(st.booleans()), dtype=dtype)
    if degenerate:
        boxes = _with_zero_area_boxes(boxes, seed)
    tied = draw(st.booleans()) if tied is None else tied
    t = draw(iou_thresholds) if threshold is None else draw(threshold)
    return {"boxes": boxes, "scores": _nms_scores(n, seed, tied, dtype),
            "iou_threshold": threshold_away_from(_box_iou64(boxes), t)}


@st.composite
def batched_nms_inputs(draw, min_n: int = 0, max_n: int = 16):
    """{"boxes", "scores", "idxs", "iou_threshold"}: distinct scores, a few class labels."""
    case = draw(nms_inputs(min_n=min_n, max_n=max_n, tied=False))
    n = case["boxes"].shape[0]
    labels = draw(st.sampled_from([(0,), (0, 1), (0, 1, 2, 3), (2, 5)]))
    g = torch.Generator().manual_seed(draw(seeds))
    pick = torch.randint(0, len(labels), (n,), generator=g)
    case["idxs"] = torch.tensor(labels, dtype=torch.int64)[pick]
    ious = _box_iou64(case["boxes"])
    case["iou_threshold"] = threshold_away_from(ious, case["iou_threshold"], gap=1e-3)
    return {"boxes": case["boxes"], "scores": case["scores"], "idxs": case["idxs"],
            "iou_threshold": case["iou_threshold"]}


@st.composite
def soft_nms_inputs(draw, min_n: int = 0, max_n: int = 12):
    """{"boxes", "scores", "sigma", "score_threshold"} for Gaussian soft-NMS (boxes of positive area)."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(seeds)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    boxes = boxes_from_seed(n, seed, grid=draw(st.booleans()), dtype=dtype)
    if draw(st.booleans()):
        scores = distinct_scores(n, seed, dtype)
    else:
        scores = tensor_from_seed((n,), seed + 4, low=0.0, high=1.0, dtype=dtype)
    return {"boxes": boxes, "scores": scores,
            "sigma": draw(st.one_of(st.just(0.5), st.floats(0.05, 2.0))),
            "score_threshold": draw(st.sampled_from([0.0, 0.001, 0.02, 0.15, 0.4]))}


def pair_at_iou(iou: float, seed: int, dtype=torch.float32) -> torch.Tensor:
    """Two boxes with IoU ``iou`` (0 < iou <= 1): the second is the first, stretched to the right.

    For b0 = (x1, y1, x2, y2) and b1 = (x1, y1, x2 + d, y1), IoU = w / (w + d),
    so d = w (1 - iou) / iou: the construction of torchvision's own NMS tests.
    The first box has whole-pixel corners and is at least 4 wide, so storing
    x2 + d in float32 moves the IoU by less than 1e-6.
    """
    b0 = boxes_from_seed(1, seed, grid=True, dtype=torch.float64)[0] * 4   # whole pixels, 4 to 16 wide
    b1 = b0.clone()
    b1[2] += (b0[2] - b0[0]) * (1 - iou) / iou
    return torch.stack([b0, b1]).to(dtype)


def detections_from_seed(n_objects: int, per_object: int, seed: int, *, canvas: float = 512.0,
                         dtype=torch.float32) -> torch.Tensor:
    """A detector's raw boxes: ``per_object`` jittered copies of each of ``n_objects`` boxes.

    Corners are whole pixels, so every IoU is a ratio of small integers that
    float32 computes exactly up to the final division: results cannot depend
    on rounding.
    """
    g = torch.Generator().manual_seed(int(seed))
    centre = torch.rand(n_objects, 2, generator=g, dtype=torch.float64) * canvas
    size = 16 + torch.rand(n_objects, 2, generator=g, dtype=torch.float64) * 64
    half = (size / 2).repeat(1, 2) * torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    jitter = (torch.rand(n_objects, per_object, 4, generator=g, dtype=torch.float64) - 0.5) * 0.3
    boxes = centre.repeat(1, 2)[:, None, :] + half[:, None, :] + jitter * size.repeat(1, 2)[:, None, :]
    boxes = boxes.reshape(-1, 4).round()
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    return boxes.to(dtype)


# ---------------------------------------------------------------- 01_conv_arithmetic: conv2d calls, models, FLOPs

@st.composite
def conv2d_calls(draw, max_batch: int = 3, max_channels: int = 4, max_size: int = 12,
                 stride_one: bool = False):
    """A conv2d call as a student would write it: stride, padding and dilation each given
    either as one int (both dimensions) or as a pair (height, width); bias or not; float32
    or float64; contents from ``seed``. The dilated kernel always fits in the padded input."""
    def int_or_pair(lo, hi):
        if draw(st.booleans()):
            v = draw(st.integers(lo, hi))
            return v, (v, v)
        pair = (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
        return pair, pair

    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride, (sh, sw) = (1, (1, 1)) if stride_one else int_or_pair(1, 3)
    padding, (ph, pw) = int_or_pair(0, 3)
    dilation, (dh, dw) = int_or_pair(1, 3)
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    return {
        "batch": draw(st.integers(1, max_batch)),
        "in_channels": draw(st.integers(1, max_channels)),
        "out_channels": draw(st.integers(1, max_channels)),
        "size": (draw(st.integers(min_h, max(min_h, max_size))),
                 draw(st.integers(min_w, max(min_w, max_size)))),
        "kernel": (kh, kw),
        "stride": stride, "padding": padding, "dilation": dilation,
        "bias": draw(st.booleans()),
        "dtype": draw(st.sampled_from(["float32", "float32", "float64"])),
        "seed": draw(seeds),
    }


@st.composite
def small_model_specs(draw):
    """A description of a small nn.Module (built by the check, never run): a list of
    layers, some of them frozen entirely or in part, optionally nested, optionally
    one module registered twice, optionally an embedding and a head sharing one weight."""
    layer = st.one_of(
        st.tuples(st.just("conv"), st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.booleans()),
        st.tuples(st.just("linear"), st.integers(1, 16), st.integers(1, 16), st.booleans()),
        st.tuples(st.just("batchnorm"), st.integers(1, 8)),
        st.tuples(st.just("relu")),
    )
    layers = draw(st.lists(layer, min_size=0, max_size=6))
    frozen = []
    if layers:
        for i in draw(st.lists(st.integers(0, len(layers) - 1), max_size=3, unique=True)):
            frozen.append((i, draw(st.sampled_from(["all", "weight", "bias"]))))
    return {
        "layers": layers,
        "frozen": frozen,
        "nested": draw(st.booleans()),
        "reuse_first": draw(st.booleans()),
        "tied": draw(st.sampled_from([None, "trainable", "frozen"])),
        "vocab": draw(st.integers(2, 12)),
        "dim": draw(st.integers(1, 8)),
    }


@st.composite
def conv_flops_cases(draw):
    """A grouped 2-D convolution: channels divisible by groups, any valid stride, padding
    and dilation (the FLOP count depends only on the output size they lead to)."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 3, 4]))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    return {
        "batch_size": draw(st.integers(1, 8)),
        "in_channels": groups * draw(st.integers(1, 16)),
        "out_channels": groups * draw(st.integers(1, 16)),
        "groups": groups,
        "kernel": (kh, kw),
        "input_size": (draw(st.integers(min_h, max(min_h, 64))), draw(st.integers(min_w, max(min_w, 64)))),
        "stride": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "padding": (ph, pw),
        "dilation": (dh, dw),
        "ints_when_square": draw(st.booleans()),
    }


# ---------------------------------------------------------------- 03_pooling

POOL_VALUES = ("uniform", "negative", "ties", "plateaus", "constant")


def pool_windows(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's number of pooling windows along one dimension, or 0 when PyTorch would
    reject the arguments or when some window holds padding only (possible with dilation)."""
    if k < 1 or s < 1 or d < 1 or p < 0 or p > k // 2 or n < 1:
        return 0
    span = d * (k - 1) + 1
    if ceil_mode:
        out = -(-(n + 2 * p - span) // s) + 1
        if (out - 1) * s >= n + p:          # the last window must start inside the input or the left padding
            out -= 1
    else:
        out = (n + 2 * p - span) // s + 1
    if out < 1:
        return 0
    for i in range(out):
        if not any(0 <= i * s - p + j * d < n for j in range(k)):
            return 0
    return out


@st.composite
def pool_geometry(draw, max_n: int = 24, max_k: int = 6, max_s: int = 5, max_d: int = 3, ceil=None):
    """One dimension of a pooling call (n, k, s, p, d, ceil_mode) that PyTorch accepts and
    where every window holds at least one input element."""
    k = draw(st.integers(1, max_k))
    s = draw(st.integers(1, max_s))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, max_d))
    ceil_mode = draw(st.booleans()) if ceil is None else ceil
    low = max(1, d * (k - 1) + 1 - 2 * p)
    n = draw(st.integers(low, max(low, max_n)))
    if pool_windows(n, k, s, p, d, ceil_mode) == 0:
        d = 1                                   # dilation left a window in the padding: drop it
    return {"n": n, "k": k, "s": s, "p": p, "d": d, "ceil_mode": ceil_mode}


@st.composite
def pool_size_arguments(draw):
    """(n, k, s, p, d, ceil_mode) for an output-size rule, valid or not: padding above half
    the kernel, windows that do not fit, and zero or negative sizes, strides, dilations."""
    return {"n": draw(st.integers(1, 16)), "k": draw(st.integers(-1, 6)), "s": draw(st.integers(0, 5)),
            "p": draw(st.integers(-1, 4)), "d": draw(st.integers(0, 3)), "ceil_mode": draw(st.booleans())}


@st.composite
def pool2d_calls(draw, max_size: int = 12, dilation: bool = True, ceil=None, avg: bool = False,
                 values=POOL_VALUES, min_batch: int = 1, layouts=("4d", "4d", "3d")):
    """A 2-D pooling call as a student would write it.

    kernel_size, stride, padding (and dilation) are each one int or a pair (height, width);
    stride is sometimes None (= kernel_size). Both spatial dimensions satisfy PyTorch's rules
    and every window holds an input element. ``avg``: no dilation, a count_include_pad flag.
    Values: uniform in [-1, 1), all negative, small integers (many ties), constant blocks,
    or one constant; the memory layout is sometimes channels-last or transposed.
    """
    ceil_mode = draw(st.booleans()) if ceil is None else ceil
    dims = []
    for _ in range(2):
        dims.append(draw(pool_geometry(max_n=max_size, max_k=5, max_s=4, max_d=3 if dilation and not avg else 1,
                                       ceil=ceil_mode)))
    (gh, gw) = dims
    stride_none = draw(st.integers(0, 4)) == 0      # None means stride = kernel_size
    if stride_none:
        for g in (gh, gw):
            g["s"] = g["k"]
            if pool_windows(g["n"], g["k"], g["s"], g["p"], g["d"], ceil_mode) == 0:
                g["d"] = 1
    case = {}
    layout = draw(st.sampled_from(layouts))
    n, c = draw(st.integers(min_batch, 3)), draw(st.integers(1, 3))
    case["shape"] = (n, c, gh["n"], gw["n"]) if layout == "4d" else (c, gh["n"], gw["n"])

    def int_or_pair(key):
        a, b = gh[key], gw[key]
        return a if a == b and draw(st.booleans()) else (a, b)

    case["kernel_size"] = int_or_pair("k")
    case["stride"] = None if stride_none else int_or_pair("s")
    case["padding"] = int_or_pair("p")
    if not avg:
        case["dilation"] = int_or_pair("d")
    case["ceil_mode"] = ceil_mode
    if avg:
        case["count_include_pad"] = draw(st.booleans())
    case["dtype"] = draw(st.sampled_from(["float32", "float64"]))
    case["values"] = draw(st.sampled_from(values))
    case["memory"] = draw(st.sampled_from(["contiguous", "contiguous", "transposed"]
                                          + (["channels_last"] if layout == "4d" else [])))
    case["seed"] = draw(seeds)
    return case


def pool_pairs(case) -> dict:
    """A pooling case's arguments as pairs: {"kernel_size": (kh, kw), "stride": ..., ...}."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    k = pair(case["kernel_size"])
    return {"kernel_size": k, "stride": k if case["stride"] is None else pair(case["stride"]),
            "padding": pair(case["padding"]), "dilation": pair(case.get("dilation", 1))}


def pool2d_input(case) -> torch.Tensor:
    """The input tensor of a ``pool2d_calls`` case (values, dtype and memory layout)."""
    shape, seed, kind = tuple(case["shape"]), case["seed"], case["values"]
    g = torch.Generator().manual_seed(int(seed))
    if kind == "uniform":
        x = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    elif kind == "negative":
        x = -1 - 2 * torch.rand(shape, generator=g, dtype=torch.float64)
    elif kind == "ties":
        x = torch.randint(-2, 3, shape, generator=g).double()
    elif kind == "plateaus":
        block = int(torch.randint(2, 4, (1,), generator=g))
        h, w = shape[-2], shape[-1]
        small = torch.randint(-3, 2, (*shape[:-2], -(-h // block), -(-w // block)), generator=g).double()
        x = small.repeat_interleave(block, -2).repeat_interleave(block, -1)[..., :h, :w].contiguous()
    elif kind == "extreme":     # huge negatives and the dtype's lowest finite value, many ties (max pooling only)
        t = torch.randint(0, 4, shape, generator=g).to(norm_dtype(case["dtype"]))
        x = torch.where(t == 0, torch.finfo(t.dtype).min, -1e30 * t)
    else:
        x = torch.full(shape, -0.75, dtype=torch.float64)
    x = x.to(norm_dtype(case["dtype"]))
    if case.get("memory") == "transposed":
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif case.get("memory") == "channels_last" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


# ---------------------------------------------------------------- 02_receptive_field

def rf_out_length(n: int, layer: dict, axis: int) -> int:
    """Output length along ``axis`` (0: height, 1: width) of one layer of an
    :func:`rf_model_specs` model, by PyTorch's rules (ceil mode included); < 1: no output."""
    kind = layer["layer"]
    if kind in ("relu", "bn"):
        return n
    if kind == "pad":
        left, right, top, bottom = layer["padding"]
        return n + ((top + bottom) if axis == 0 else (left + right))
    if kind == "upsample":
        return 2 * n
    k = layer["kernel_size"]
    k = k if isinstance(k, int) else k[axis]
    s, p, d = layer["stride"], layer["padding"], layer.get("dilation", 1)
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        return 0
    if layer.get("ceil_mode"):
        out = -(-(n + 2 * p - span) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return (n + 2 * p - span) // s + 1


def rf_out_size(layers, h: int, w: int) -> tuple[int, int]:
    """(H_out, W_out) of an :func:`rf_model_specs` model on an h x w input; 0 when some layer has no output."""
    for layer in layers:
        h, w = rf_out_length(h, layer, 0), rf_out_length(w, layer, 1)
        if h < 1 or w < 1:
            return 0, 0
    return h, w


def _rf_min_input(layers, axis: int) -> int:
    """The smallest input length along ``axis`` for which every layer has an output."""
    n = 1
    while True:
        m = n
        for layer in layers:
            m = rf_out_length(m, layer, axis)
            if m < 1:
                break
        else:
            return n
        n += 1


@st.composite
def rf_layer_specs(draw, max_layers: int = 7, max_jump: int = 32, pool_dilation: bool = False):
    """A stack for ``receptive_field``: dicts with kind "conv" or "pool", kernel_size and,
    sometimes left out (the default then applies), stride, padding, dilation. Pools are
    undilated unless ``pool_dilation`` (nn.MaxPool2d's dilation; no network is built from those),
    their padding at most half the kernel (PyTorch's rule); a pool's stride is
    often left to its default, the kernel size. The total stride stays <= ``max_jump``."""
    layers, jump = [], 1
    for _ in range(draw(st.integers(0, max_layers))):
        if draw(st.integers(0, 9)) < 7:
            k = draw(st.integers(1, 7))
            s = draw(st.sampled_from([1, 1, 1, 2, 2, 3]))
            layer = {"kind": "conv", "kernel_size": k, "stride": s,
                     "padding": draw(st.integers(0, 3)), "dilation": draw(st.sampled_from([1, 1, 2, 3]))}
            defaults = {"stride": 1, "padding": 0, "dilation": 1}
        else:
            k = draw(st.integers(2, 3))
            s = draw(st.sampled_from([None, None, 1, 2, 3]))
            layer = {"kind": "pool", "kernel_size": k, "stride": s, "padding": draw(st.integers(0, k // 2))}
            defaults = {"stride": None, "padding": 0}
            if pool_dilation:
                layer["dilation"], defaults["dilation"] = draw(st.sampled_from([1, 1, 2, 3])), 1
            s = k if s is None else s
        if jump * s > max_jump:
            layer["stride"], s = 1, 1
        for key, default in defaults.items():
            if layer[key] == default and draw(st.booleans()):
                del layer[key]               # left to the default
        layers.append(layer)
        jump *= s
    return layers


def rf_layers_to_model_spec(layers, channels: int = 1, seed: int = 0) -> dict:
    """The :func:`rf_model_specs` description of a ``receptive_field`` stack: a
    convolution for each "conv" (ReLU after it), a max pool for each "pool"."""
    out = []
    for layer in layers:
        k = layer["kernel_size"]
        if layer["kind"] == "conv":
            out.append({"layer": "conv", "out_channels": channels, "kernel_size": k,
                        "stride": layer.get("stride") or 1, "padding": layer.get("padding", 0),
                        "dilation": layer.get("dilation", 1), "bias": "random", "zero_row": False})
            out.append({"layer": "relu"})
        else:
            s = layer.get("stride")
            out.append({"layer": "maxpool", "kernel_size": k, "stride": k if s is None else s,
                        "padding": layer.get("padding", 0), "ceil_mode": False})
    return {"input": [channels, 1, 1], "layers": out, "unit": None, "nested": False, "train": True,
            "seed": seed}


@st.composite
def rf_model_specs(draw, pools: bool = False, extras: bool = False, max_blocks: int = 4,
                   max_extra_size: int = 10):
    """A small CNN for ``empirical_receptive_field``, with what hides a receptive field from a
    naive gradient: kernel rows of zeros, large negative biases before a ReLU, batch norms with
    negative or zero scale (the model in training mode or not), and with ``pools`` max pools
    (and average pools, ceil mode). ``extras`` adds layers the recurrence does not know:
    asymmetric zero padding and nearest up-sampling. The input is often only just large
    enough, so fields spill over the border; ``unit`` is None (the centre) or (row, col)."""
    layers, channels = [], draw(st.integers(1, 3))
    in_channels, jump = channels, 1
    for _ in range(draw(st.integers(1, max_blocks))):
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        s = draw(st.sampled_from([1, 1, 2])) if jump < 8 else 1
        channels = draw(st.integers(1, 3))
        layers.append({"layer": "conv", "out_channels": channels,
                       "kernel_size": kh if kh == kw and draw(st.booleans()) else (kh, kw),
                       "stride": s, "padding": draw(st.integers(0, 2)),
                       "dilation": draw(st.sampled_from([1, 1, 2, 3])),
                       "bias": draw(st.sampled_from(["none", "random", "negative"])),
                       "zero_row": draw(st.booleans())})
        jump *= s
        if draw(st.booleans()):
            layers.append({"layer": "bn", "gamma": draw(st.sampled_from(["random", "negative", "zero"]))})
        if draw(st.integers(0, 3)) > 0:
            layers.append({"layer": "relu"})
        if extras and draw(st.integers(0, 2)) == 0:
            if draw(st.booleans()):
                layers.append({"layer": "pad", "padding": tuple(draw(st.integers(0, 3)) for _ in range(4))})
            else:
                layers.append({"layer": "upsample"})
        if pools and jump < 8 and draw(st.integers(0, 2)) > 0:
            k = draw(st.integers(2, 3))
            s = draw(st.sampled_from([k, k, 1, 2]))
            layers.append({"layer": draw(st.sampled_from(["maxpool", "maxpool", "avgpool"])), "kernel_size": k,
                           "stride": s, "padding": draw(st.integers(0, k // 2)),
                           "ceil_mode": draw(st.booleans())})
            jump *= s
    if pools and not any(layer["layer"] == "maxpool" for layer in layers):
        layers.append({"layer": "maxpool", "kernel_size": 2, "stride": 2, "padding": 0, "ceil_mode": False})
    h = _rf_min_input(layers, 0) + draw(st.integers(0, max_extra_size))
    w = _rf_min_input(layers, 1) + draw(st.integers(0, max_extra_size))
    h_out, w_out = rf_out_size(layers, h, w)
    unit = None if draw(st.booleans()) else (draw(st.integers(0, h_out - 1)), draw(st.integers(0, w_out - 1)))
    return {"input": [in_channels, h, w], "layers": layers, "unit": unit, "nested": draw(st.booleans()),
            "train": draw(st.booleans()), "seed": draw(seeds)}


@st.composite
def conv_stack_cases(draw, max_layers: int = 4):
    """A stack of stride-1 "same" convolutions: odd kernel sizes (ints or (kh, kw) pairs),
    channels as one int or a list of len + 1, the input size as an int or (H, W), bias or not."""
    n = draw(st.integers(0, max_layers))
    odd = st.sampled_from([1, 3, 3, 5, 7])
    kernels = [draw(odd) if draw(st.booleans()) else (draw(odd), draw(odd)) for _ in range(n)]
    if draw(st.booleans()):
        channels = draw(st.integers(1, 64))
    else:
        channels = [draw(st.integers(1, 64)) for _ in range(n + 1)]
    size = draw(st.integers(1, 64)) if draw(st.booleans()) else (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    return {"kernel_sizes": kernels, "channels": channels, "size": size, "bias": draw(st.booleans())}


# ---------------------------------------------------------------- 04_cnn_classifier

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


# ---------------------------------------------------------------- 06_losses

LOSS_DTYPES = ("float32", "float64")


@st.composite
def cross_entropy_cases(draw, *, spreads=(0.1, 1.0, 5.0, 30.0), offsets=(0.0,), weighted=(False,),
                        ignore_indices=(None,), ignore_fractions=(0.0,), smoothings=(None,),
                        dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A cross-entropy call. Logits (N, C) or (N, C, d1[, d2[, d3]]) are, per position, a shift
    drawn from [-offset, offset] plus spread * U[-1, 1) over the classes; targets are int64 class
    indices. ``weighted``: class weights in [0.1, 3] or none; ``ignore_index``: None (not passed,
    the default -100), an int (-100, -1, 255: outside [0, C)) or a class index ("class"), with a
    fraction of the targets set to it; ``label_smoothing``: None (not passed) or a value in [0, 1]."""
    ndim = draw(st.integers(0, 3))
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 6))) + tuple(
        draw(st.integers(1, 4)) for _ in range(ndim))
    smoothing = draw(st.sampled_from(smoothings))
    if smoothing == "any":
        smoothing = draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.01, 0.99)))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from(spreads)),
        "offset": draw(st.sampled_from(offsets)),
        "weighted": draw(st.sampled_from(weighted)),
        "ignore_index": draw(st.sampled_from(ignore_indices)),
        "ignore_fraction": draw(st.sampled_from(ignore_fractions)),
        "label_smoothing": smoothing,
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


OVERLAP_LAYOUTS = ("binary3", "binary4", "onehot", "index")


@st.composite
def overlap_cases(draw, layouts=OVERLAP_LAYOUTS, preds=("soft", "soft", "hard", "empty", "perfect"),
                  smooths=(0.0, 1e-5, 1.0, 10.0), dtypes=LOSS_DTYPES, reductions=("mean", "none"),
                  soft_targets: bool = False):
    """A soft Dice / IoU call on 2-D images.

    layout: "binary3" probs (N, H, W), "binary4" (N, 1, H, W), "onehot" (N, C, H, W) with a
    one-hot target of the same shape, "index" (N, C, H, W) with an int64 target (N, H, W).
    pred: "soft" (sigmoid / softmax of random logits, never 0), "hard" (a random 0/1 mask or
    one-hot map), "empty" (all zeros), "perfect" (the target itself). Binary targets have a
    foreground fraction from 0 (empty) to 1 (full); multi-class targets may miss some classes.
    smooth = 0 only with soft predictions (so no 0 / 0). ``soft_targets``: binary and one-hot
    targets are random values in [0, 1] instead of masks.
    """
    layout = draw(st.sampled_from(layouts))
    pred = draw(st.sampled_from(preds))
    if pred == "empty" and layout in ("onehot", "index"):
        pred = "hard"
    smooth = draw(st.sampled_from(smooths))
    if smooth == 0.0 and pred != "soft":
        smooth = 1.0
    channels = 1 if layout.startswith("binary") else draw(st.integers(2, 4))
    return {
        "layout": layout, "pred": pred, "smooth": smooth,
        "shape": (draw(st.integers(1, 3)), channels, draw(st.integers(1, 8)), draw(st.integers(1, 8))),
        "foreground": draw(st.sampled_from([0.0, 0.1, 0.3, 0.7, 1.0])),
        "classes_present": draw(st.integers(1, channels)),
        "soft_target": soft_targets and layout != "index",
        "bool_target": draw(st.booleans()) and not soft_targets and layout != "index",
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


@st.composite
def focal_cases(draw, *, spreads=(0.5, 3.0, 20.0), offsets=(0.0,), alphas=None, gammas=None,
                dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A sigmoid focal loss call: logits of any shape (1 to 3 dims) as shift + spread * U[-1, 1),
    0/1 float targets with a positive fraction, alpha in [0, 1] or -1 (off), gamma >= 0."""
    shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3))))
    alpha = draw(st.one_of(st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0))
                 if alphas is None else st.sampled_from(alphas))
    gamma = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]), st.floats(0.0, 4.0))
                 if gammas is None else st.sampled_from(gammas))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from(spreads)),
        "offset": draw(st.sampled_from(offsets)),
        "positive": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        "alpha": alpha, "gamma": gamma,
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


@st.composite
def smooth_l1_cases(draw, *, betas=None, dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A smooth L1 call: input and target of one shape (1 to 3 dims), differences of the
    order of ``spread``, beta >= 0; ``at_beta`` puts some differences exactly at +-beta."""
    shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3))))
    beta = draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0, 1e-3]), st.floats(0.01, 3.0))
                if betas is None else st.sampled_from(betas))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from([0.1, 1.0, 10.0])),
        "beta": beta,
        "at_beta": draw(st.booleans()),
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


# ---------------------------------------------------------------- 26_compression

import math  # noqa: E402  (this section's own import)

@st.composite
def prune_weight_cases(draw, tied: bool = False, max_numel: int = 120):
    """A weight tensor to prune (1 to 4 dims) and an amount: a float fraction or an int count.
    ``tied``: magnitudes on a coarse grid with many equal values (zeros included); otherwise
    all magnitudes are distinct (the pruned set is then unique)."""
    dims = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 6)) for _ in range(dims)]
    while math.prod(shape) > max_numel:
        shape[shape.index(max(shape))] -= 1
    n = math.prod(shape)
    if draw(st.booleans()):
        amount = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.05, 0.95]), st.floats(0.0, 1.0)))
    else:
        amount = draw(st.integers(0, n))
    return {"shape": tuple(shape), "amount": amount, "tied": tied,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


def prune_weight_from_case(shape, seed: int, tied: bool, dtype=torch.float32) -> torch.Tensor:
    """Tie-free: a random permutation of distinct magnitudes with random signs; tied: small
    integers (a third of them repeated at least) divided by 4."""
    g = torch.Generator().manual_seed(int(seed))
    n = math.prod(shape)
    if tied:
        values = torch.randint(-3, 4, (n,), generator=g).to(torch.float64) / 4
    else:
        magnitudes = (torch.randperm(n, generator=g).to(torch.float64) + 1) / n
        signs = torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
        values = magnitudes * signs
    return values.reshape(shape).to(dtype)


@st.composite
def global_prune_cases(draw, tied: bool = False):
    """Several layers' weights (1 to 4 tensors) pruned together, with a float or int amount."""
    layers = draw(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=3), min_size=1, max_size=4))
    n = sum(math.prod(s) for s in layers)
    amount = draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.5]), st.integers(0, n)))
    return {"shapes": [tuple(s) for s in layers], "amount": amount, "tied": tied,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


def global_weights_from_case(case) -> list:
    """The layers of a global case; tie-free across all layers together."""
    dtype = torch.float64 if case["dtype"] == "float64" else torch.float32
    sizes = [math.prod(s) for s in case["shapes"]]
    flat = prune_weight_from_case((sum(sizes),), case["seed"], case["tied"], torch.float64)
    out, start = [], 0
    for shape, size in zip(case["shapes"], sizes):
        out.append(flat[start:start + size].reshape(shape).to(dtype))
        start += size
    return out


@st.composite
def conv_pair_cases(draw, max_size: int = 9):
    """conv (in -> out channels) followed by next_conv (out -> next channels), both groups=1,
    with their hyper-parameters (padding_mode too), bias or not, a keep count, and an input
    size that fits (reflect padding needs more input than padding).
    ``ties``: some filters are copies (or sign flips) of others, so L1 norms tie exactly."""
    out = draw(st.integers(1, 8))
    def geometry():
        return {"k": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
                "padding": draw(st.integers(0, 2)), "dilation": draw(st.integers(1, 2)),
                "bias": draw(st.booleans()),
                "padding_mode": draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))}
    first, second = geometry(), geometry()

    def after(n, g):
        return (n + 2 * g["padding"] - g["dilation"] * (g["k"] - 1) - 1) // g["stride"] + 1
    size = draw(st.integers(5, max_size))
    while after(after(size, first), second) < 1 or after(size, first) <= second["padding"]:
        size += 1
    return {"in": draw(st.integers(1, 4)), "out": out, "next": draw(st.integers(1, 5)),
            "conv": first, "next_conv": second, "keep": draw(st.integers(1, out)),
            "ties": draw(st.booleans()), "batch": draw(st.integers(1, 3)),
            "size": size, "dtype": draw(st.sampled_from(["float32", "float64"])),
            "seed": draw(seeds)}


def grid_tensor(shape, seed: int, dtype=torch.float32, steps: int = 8) -> torch.Tensor:
    """Values k / steps, k in [-steps, steps]: sums of their magnitudes are exact in float32."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randint(-steps, steps + 1, tuple(shape), generator=g).to(torch.float64) / steps).to(dtype)


@st.composite
def qrange_cases(draw, per_channel: bool = False):
    """A real range (or one per channel) to quantize into [qmin, qmax], affine or symmetric;
    degenerate ranges (all zero, one value, one sign) included."""
    qmin, qmax = draw(st.sampled_from([(0, 255), (-128, 127), (0, 15), (-8, 7)]))
    symmetric = qmin < 0 and draw(st.booleans())
    n = draw(st.integers(1, 6)) if per_channel else 1

    def one():
        kind = draw(st.sampled_from(["any", "any", "positive", "negative", "equal", "zero", "tiny"]))
        a, b = draw(st.floats(-50, 50)), draw(st.floats(-50, 50))
        lo, hi = min(a, b), max(a, b)
        if kind == "positive":
            lo, hi = abs(lo) / 2, abs(lo) / 2 + abs(hi)
        elif kind == "negative":
            lo, hi = -abs(lo) - abs(hi), -abs(hi) / 2
        elif kind == "equal":
            hi = lo
        elif kind == "zero":
            lo = hi = 0.0
        elif kind == "tiny":
            lo, hi = lo * 1e-9, hi * 1e-9
        return [lo, hi]
    return {"ranges": [one() for _ in range(n)], "qmin": qmin, "qmax": qmax, "symmetric": symmetric,
            "per_channel": per_channel}


@st.composite
def quantize_cases(draw, per_channel: bool = False):
    """x (float32, 1 to 4 dims), scale(s) and zero point(s) inside [qmin, qmax], an axis for
    per-channel; values spread well beyond the representable range so clamping happens.
    ``halves``: a power-of-two scale and x on its half-steps, so x / scale is exactly k + 1/2."""
    qmin, qmax = draw(st.sampled_from([(0, 255), (-128, 127), (0, 15), (-8, 7)]))
    dims = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    axis = draw(st.integers(0, dims - 1)) if per_channel else None
    channels = shape[axis] if per_channel else 1
    halves = draw(st.booleans())
    scales = [2.0 ** draw(st.integers(-4, 2)) if halves else draw(st.floats(1e-3, 2.0)) for _ in range(channels)]
    zps = [draw(st.integers(qmin, qmax)) for _ in range(channels)]
    return {"shape": shape, "axis": axis, "scales": scales, "zero_points": zps, "qmin": qmin,
            "qmax": qmax, "halves": halves, "spread": draw(st.sampled_from([1.0, 10.0, 300.0])),
            "seed": draw(seeds)}


def quantize_input(case) -> torch.Tensor:
    """x of the case: on half-steps of the (smallest) scale when ``halves``, else uniform."""
    shape, seed = case["shape"], case["seed"]
    if case["halves"]:
        step = min(case["scales"]) / 2
        g = torch.Generator().manual_seed(int(seed))
        k = torch.randint(-600, 601, shape, generator=g).to(torch.float64)
        return (k * step).to(torch.float32)
    return tensor_from_seed(shape, seed, low=-case["spread"], high=case["spread"])


@st.composite
def distillation_cases(draw):
    """Student and teacher logits (N, C), a temperature, a spread (up to 1e4: a softmax without
    the max subtracted overflows), float32 or float64."""
    return {"n": draw(st.integers(1, 6)), "c": draw(st.integers(2, 10)),
            "T": draw(st.one_of(st.sampled_from([1.0, 2.0, 4.0, 0.5, 10.0]), st.floats(0.5, 20.0))),
            "spread": draw(st.sampled_from([1.0, 5.0, 30.0])),
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


@st.composite
def mlp_cases(draw):
    """A small MLP (2 or 3 Linear layers, ReLU between) and a batch for dynamic quantization."""
    widths = [draw(st.integers(4, 48)) for _ in range(draw(st.integers(3, 4)))]
    return {"widths": widths, "batch": draw(st.integers(1, 8)), "seed": draw(seeds)}


# ---------------------------------------------------------------- 27_distributed

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
