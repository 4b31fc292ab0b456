"""Input generators of 02_receptive_field: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import seeds


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
