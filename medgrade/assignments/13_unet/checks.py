"""Checks of 13_unet: the double-convolution block, the centred crop of the skips, the output-size
rule and the parameter count of the paper's U-Net, the network itself (shapes, layers, values with
the reference's weights) and that it learns to segment nuclei with the course's training loop."""
from __future__ import annotations

import torch
import torchvision.transforms._functional_tensor as tv_functional_tensor
import torchvision.transforms.functional as tv_functional
import torchvision.transforms.v2.functional as tv2_functional
import torchvision.transforms.v2.functional._geometry as tv2_geometry

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, describe, expect_tensor
from medgrade.properties import around, beside, call, check_once, check_property, gradients, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as R

A = "13_unet"

# torchvision's crops are the library version of center_crop (v1 and v2). An alias bound before
# the call (`from torchvision.transforms.functional import crop`) is the original function, so the
# helpers they reach through their own modules are tripwires too: v1's tensor kernel, and the
# usage logger and kernel lookup that every v1 and v2 crop calls first.
_CROP_FORBID = ([(tv_functional, name, f"torchvision.transforms.functional.{name}")
                 for name in ("center_crop", "crop")]
                + [(tv_functional, "_log_api_usage_once", "torchvision.transforms.functional (crop or center_crop)"),
                   (tv_functional_tensor, "crop", "torchvision.transforms.functional.crop")]
                + [(tv2_functional, name, f"torchvision.transforms.v2.functional.{name}")
                   for name in ("center_crop", "center_crop_image", "crop", "crop_image")]
                + [(tv2_geometry, name, f"torchvision.transforms.v2.functional.{name}")
                   for name in ("center_crop", "center_crop_image", "crop", "crop_image",
                                "_center_crop_compute_crop_anchor")]
                + [(tv2_geometry, name, "torchvision.transforms.v2.functional (crop or center_crop)")
                   for name in ("_log_api_usage_once", "_get_kernel")])


def _call(fn, *args, **kwargs):
    return call(fn, *args, forbid=_CROP_FORBID, hint="Slice the tensor yourself.", **kwargs)


def _raises(fn, kind: str, what: str, *args, **kwargs) -> None:
    """Fail unless calling the student's ``fn`` raises ``kind`` (by name)."""
    try:
        got = _call(fn, *args, **kwargs)
    except CheckFailed as e:
        if f"raised {kind}:" in e.message:
            return
        raise CheckFailed(f"{what} should raise {kind}; {e.message}") from None
    raise CheckFailed(f"{what} should raise {kind}, but it returned {describe(got)}")


def _module(fn, method: str):
    """nn.Module's ``method`` applied where the student's objects live."""
    return beside(fn, f"torch.nn:Module.{method}")


def _state(fn, module, what: str) -> dict:
    # a state_dict is an OrderedDict, which stays in the worker: a plain dict of it comes back
    state = _call(beside(fn, "builtins:dict"), _call(_module(fn, "state_dict"), module))
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckFailed(f"{what} should be an nn.Module whose state_dict holds tensors, got {describe(state)}")
    return dict(state)


def _same_layout(got: dict, want: dict, what: str) -> None:
    """The state_dict's names and shapes equal the contract's."""
    shapes = {k: tuple(v.shape) for k, v in got.items()}
    missing = [k for k in want if k not in shapes]
    extra = [k for k in shapes if k not in want]
    wrong = [f"{k}: {shapes[k]} instead of {want[k]}" for k in want if k in shapes and shapes[k] != want[k]]
    if missing or extra or wrong:
        lines = [f"{what}'s state_dict is not the contract's layout:"]
        if missing:
            lines.append(f"  missing: {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
        if extra:
            lines.append(f"  not in the contract (an extra layer, a buffer, another name): {', '.join(extra[:8])}"
                         + (" ..." if len(extra) > 8 else ""))
        if wrong:
            lines.append("  wrong shape: " + "; ".join(wrong[:6]) + (" ..." if len(wrong) > 6 else ""))
        raise CheckFailed("\n".join(lines))


# ---------------------------------------------------------------- double_conv

_BLOCK_KEYS = ("0.weight", "0.bias", "2.weight", "2.bias")


def _tolerance(dtype: torch.dtype, scale: float = 1.0) -> dict:
    """Two 3x3 convolutions of at most 6 channels (54 products each) of inputs below ``scale``:
    float32 rounding is a few 1e-7 of the scale per sum; a wrong padding, a missing ReLU or a
    reflected border is off by 0.01 of it or more."""
    return (dict(rtol=1e-4, atol=1e-5 * scale) if dtype == torch.float32
            else dict(rtol=1e-9, atol=1e-11 * scale))


def _block_input(case) -> torch.Tensor:
    return tensor_from_seed((case["batch"], case["in_channels"], *case["size"]), case["seed"],
                            low=-case["scale"], high=case["scale"], dtype=norm_dtype(case["dtype"]))


_INIT_SEEDS = (1_301, 1_302)
_INIT_BLOCK = (8, 16)           # in, out: 1,152 and 2,304 weights, 16 biases per convolution


def _seeded_block(double_conv, seed: int) -> dict:
    """The state of double_conv(8, 16, 'same') built right after torch.manual_seed(seed)."""
    block = _call(around(double_conv, "medgrade.worker.probes:built_after_seed"), seed, *_INIT_BLOCK, "same")
    return _state(double_conv, block, f"double_conv{(*_INIT_BLOCK, 'same')}")


def _default_initialization(double_conv) -> None:
    """PyTorch's Conv2d draws its weights and biases uniformly in +-1 / sqrt(fan_in) from torch's global
    generator: every value within that bound, spread over it (not a constant, not zeros), and another
    seed gives other values (no seed, no generator of the block's own)."""
    first, second = (_seeded_block(double_conv, seed) for seed in _INIT_SEEDS)
    cin, cout = _INIT_BLOCK
    for layer, fan_in in (("0", 9 * cin), ("2", 9 * cout)):
        bound = fan_in ** -0.5
        for kind in ("weight", "bias"):
            name = f"{layer}.{kind}"
            values = first[name].detach().double()
            largest, spread = float(values.abs().max()), float(values.std())
            if largest > bound * (1 + 1e-6):
                raise CheckFailed(
                    f"double_conv{(*_INIT_BLOCK, 'same')}: {name} has values up to {largest:.4f}, beyond "
                    f"PyTorch's default bound 1 / sqrt(fan_in) = 1 / sqrt({fan_in}) = {bound:.4f}: keep the "
                    f"convolutions' default initialization (no kaiming_normal_, no other init)")
            if spread < 0.35 * bound:
                raise CheckFailed(
                    f"double_conv{(*_INIT_BLOCK, 'same')}: {name} has a standard deviation of {spread:.4f}; "
                    f"PyTorch's default draws, uniform in +-{bound:.4f}, have about {bound / 3 ** 0.5:.4f}: "
                    f"keep the convolutions' default initialization (no zeros, no constant)")
    if all(torch.equal(first[k], second[k]) for k in first):
        raise CheckFailed(
            f"double_conv{(*_INIT_BLOCK, 'same')} built after torch.manual_seed({_INIT_SEEDS[0]}) and after "
            f"torch.manual_seed({_INIT_SEEDS[1]}) has the same weights: the block must draw them from torch's "
            f"global random generator as nn.Conv2d does (no torch.manual_seed, no generator of its own)")


@aspect(A, task="double_conv", points=2)
def double_conv_layers(double_conv):
    """double_conv is conv3x3 -> ReLU -> conv3x3 -> ReLU (no batch norm), zero padding 0 or 1; others refused."""

    @showing(lambda c: {k: c[k] for k in ("in_channels", "out_channels", "padding")} | {"x": _block_input(c)})
    def same_as_reference(case):
        dtype = norm_dtype(case["dtype"])
        cin, cout, padding = case["in_channels"], case["out_channels"], case["padding"]
        block = _call(double_conv, cin, cout, padding)
        _same_layout(_state(double_conv, block, "the block"), R.double_conv_shapes(cin, cout),
                     f"double_conv({cin}, {cout}, {padding!r})")
        if dtype == torch.float64:
            block = _call(_module(double_conv, "double"), block)
        _call(_module(double_conv, "train"), block)
        state = _state(double_conv, block, "the block")
        x = _block_input(case)
        got = _call(_module(double_conv, "__call__"), block, x.clone())
        expected = R.double_conv_forward(x.double(), [state[k].double() for k in _BLOCK_KEYS], padding)
        assert_close(got, expected.to(dtype), **_tolerance(dtype, case["scale"]),
                     what="the block's output (computed with its own weights)")

    def refuses_other_paddings():
        for padding in ("full", "SAME", "reflect"):
            _raises(double_conv, "ValueError", f"double_conv(2, 3, padding={padding!r})", 2, 3, padding)

    yield check_property(
        "nn.Sequential(Conv2d(in, out, 3), ReLU, Conv2d(out, out, 3), ReLU): its state_dict holds exactly "
        "the two convolutions' weights and biases, and its output equals two zero-padded 3x3 convolutions "
        "with ReLUs computed from those weights (valid: H - 4, W - 4; same: H, W), float32 and float64, "
        "inputs up to 1 and up to 100",
        S.double_conv_cases(), same_as_reference, max_examples=30,
        examples=[{"in_channels": 1, "out_channels": 2, "padding": "valid", "batch": 1, "size": (6, 7),
                   "dtype": "float64", "scale": 1, "seed": 0},
                  {"in_channels": 3, "out_channels": 4, "padding": "same", "batch": 2, "size": (5, 5),
                   "dtype": "float32", "scale": 1, "seed": 1},
                  {"in_channels": 2, "out_channels": 1, "padding": "same", "batch": 1, "size": (1, 3),
                   "dtype": "float64", "scale": 1, "seed": 2},
                  {"in_channels": 2, "out_channels": 3, "padding": "valid", "batch": 1, "size": (5, 5),
                   "dtype": "float64", "scale": 1, "seed": 3},
                  {"in_channels": 3, "out_channels": 4, "padding": "same", "batch": 1, "size": (6, 6),
                   "dtype": "float32", "scale": 100, "seed": 4}])        # activations beyond 6
    yield check_once("another padding ('full', 'SAME', 'reflect') raises ValueError", refuses_other_paddings)
    yield check_once(
        "PyTorch's default initialization, drawn from torch's global generator: after torch.manual_seed every "
        "weight and bias lies within +-1 / sqrt(fan_in) and spreads over it, and another seed gives other values",
        lambda: _default_initialization(double_conv))


# ---------------------------------------------------------------- center_crop

def _crop_input(case) -> torch.Tensor:
    """A position code: element (..., i, j) holds a distinct number, so a window shows where it was cut."""
    shape, dtype = case["shape"], case["dtype"]
    if dtype == "bool":
        g = torch.Generator().manual_seed(case["seed"])
        return torch.rand(shape, generator=g) < 0.5
    codes = torch.arange(torch.Size(shape).numel(), dtype=torch.float64).reshape(shape)
    codes = codes + tensor_from_seed(shape, case["seed"], low=0.0, high=0.5, dtype=torch.float64)
    return codes.floor().long() if dtype == "int64" else codes.to(norm_dtype(dtype))


_showing_crop = showing(lambda c: {"x": _crop_input(c), "height": c["height"], "width": c["width"]})


@aspect(A, task="center_crop", points=2)
def center_crop_centred(center_crop):
    """center_crop cuts the centred window; an odd surplus leaves the extra row at the bottom, column at the right."""

    @_showing_crop
    def same_window(case):
        x = _crop_input(case)
        before = x.clone()
        h, w = case["height"], case["width"]
        got = _call(center_crop, x, h, w)
        expected = R.center_crop(before, h, w).clone()
        assert_equal(got, expected, what=f"center_crop(x, {h}, {w})")
        if not torch.equal(x, before):
            raise CheckFailed("center_crop modified its input x in place; it must leave it as it was")
        if (x.shape[-2] - h) % 2 == 0 and (x.shape[-1] - w) % 2 == 0 and x.dim() >= 2:
            # the two conventions agree when the surplus is even: torchvision's is the reference there
            shown = before if before.dim() >= 3 else before[None]
            tv = tv_functional.center_crop(shown, [h, w]).reshape(expected.shape)
            assert_equal(got, tv, what=f"center_crop(x, {h}, {w}) (torchvision's centre crop, an even surplus)")

    yield check_property(
        "equals x[..., top:top + height, left:left + width] with top = (H - height) // 2 and "
        "left = (W - width) // 2 (torchvision's center_crop where H - height and W - width are even) "
        "for 0 to 2 leading dimensions and float32, float64, int64 and bool tensors; x left unchanged",
        S.crop_cases(), same_window, max_examples=60,
        examples=[{"shape": (6, 6), "height": 4, "width": 4, "dtype": "int64", "seed": 0},
                  {"shape": (5, 7), "height": 2, "width": 4, "dtype": "int64", "seed": 1},     # odd surpluses
                  {"shape": (9, 9), "height": 6, "width": 2, "dtype": "int64", "seed": 2},     # 3 and 7
                  {"shape": (2, 3, 8, 8), "height": 8, "width": 8, "dtype": "float32", "seed": 3},
                  {"shape": (3, 1, 1), "height": 1, "width": 1, "dtype": "float64", "seed": 4},
                  {"shape": (2, 5, 4), "height": 1, "width": 3, "dtype": "bool", "seed": 5}])


@aspect(A, task="center_crop", points=1)
def center_crop_contract(center_crop):
    """center_crop passes gradients back to the window, takes keywords, refuses a window larger than x."""

    @_showing_crop
    def gradient_reaches_window(case):
        x = _crop_input({**case, "dtype": "float64"}).requires_grad_(True)
        h, w = case["height"], case["width"]
        got = _call(center_crop, x, height=h, width=w)
        expect_tensor(got, what=f"center_crop(x, height={h}, width={w})", shape=(*x.shape[:-2], h, w),
                      dtype=torch.float64)
        upstream = tensor_from_seed(got.shape, case["seed"] + 1, dtype=torch.float64)
        (grad,) = gradients(got, [x], upstream)
        if grad is None:
            raise CheckFailed("no gradient reaches x through center_crop: keep it a torch operation "
                              "(slicing), not a NumPy round trip or a detached copy")
        # where the window was cut is center_crop_centred's business: here the gradient must land on the
        # window the function returned, wherever that is (x is a position code: its values say where)
        H, W = x.shape[-2:]
        found = [(top, left) for top in range(H - h + 1) for left in range(W - w + 1)
                 if torch.equal(got.detach(), x.detach()[..., top:top + h, left:left + w])]
        if not found:
            raise CheckFailed(f"center_crop(x, height={h}, width={w}) is not a {h} x {w} window of x")
        top, left = found[0]
        expected = torch.zeros_like(x.detach())
        expected[..., top:top + h, left:left + w] = upstream
        assert_close(grad, expected, rtol=0, atol=0, what="the gradient that reaches x (upstream on the window)")

    def refuses():
        x = torch.zeros(2, 6, 5)
        for h, w in ((7, 5), (6, 6), (0, 3), (3, 0), (-1, 2)):
            _raises(center_crop, "ValueError", f"center_crop(x of shape (2, 6, 5), {h}, {w})", x, h, w)

    yield check_property(
        "called with keywords height= and width=, the result is a (..., height, width) window of x and the "
        "gradient of any upstream gradient reaches exactly that window's elements of x",
        S.crop_cases(), gradient_reaches_window, max_examples=15,
        examples=[{"shape": (7, 8), "height": 4, "width": 3, "dtype": "float64", "seed": 6}])
    yield check_once("a window larger than x, or of height or width below 1, raises ValueError", refuses)


# ---------------------------------------------------------------- unet_output_size

def _size_note(case) -> str:
    maps = R.unet_maps(case["size"], case["depth"], case["padding"])
    if maps is None:
        return "this input side is not legal for this depth and padding (ValueError is expected)"
    return f"the output side is {maps[-1][1]}"


@aspect(A, task="unet_output_size", points=2)
def unet_output_size_rule(unet_output_size):
    """unet_output_size gives the paper's rule (572 -> 388 at depth 4, valid; same: unchanged); illegal sizes raise."""

    @showing(lambda c: dict(c), note=_size_note)
    def rule(case):
        size, depth, padding = case["size"], case["depth"], case["padding"]
        expected = R.unet_output_size(size, depth, padding)
        shown = f"unet_output_size({size}, depth={depth}, padding={padding!r})"
        if expected is None:
            _raises(unet_output_size, "ValueError", shown, size, depth=depth, padding=padding)
        else:
            got = _call(unet_output_size, size, depth=depth, padding=padding)
            if type(got) is not int:
                raise CheckFailed(f"{shown} should return a Python int, got {type(got).__module__}."
                                  f"{type(got).__qualname__} {got!r}")
            assert_equal(got, expected, what=shown)

    yield check_property(
        "the output side of a legal input side, layer by layer (valid: each 3x3 convolution removes 2 pixels, "
        "each pooling halves, each up-convolution doubles; same: the side is kept) as a Python int, for depths "
        "1 to 5 and sides up to 1,200; ValueError for a side that makes a pooled map odd or any map smaller than 1",
        S.size_cases(), rule, max_examples=150,
        examples=[{"size": 572, "depth": 4, "padding": "valid"},      # the paper: 572 -> 388
                  {"size": 570, "depth": 4, "padding": "valid"},      # a pooled map of odd side
                  {"size": 188, "depth": 4, "padding": "valid"},      # the smallest legal side: 4
                  {"size": 172, "depth": 4, "padding": "valid"},      # even maps, but they run out
                  {"size": 18, "depth": 1, "padding": "valid"},       # 2: the decoder shrinks to 2
                  {"size": 16, "depth": 1, "padding": "valid"},       # the last map would be 0
                  {"size": 36, "depth": 2, "padding": "valid"},       # a 2-pixel bottom: the decoder runs out
                  {"size": 256, "depth": 4, "padding": "same"},
                  {"size": 1, "depth": 1, "padding": "same"},
                  {"size": 2, "depth": 1, "padding": "same"},
                  {"size": 24, "depth": 4, "padding": "same"}])

    def refuses():
        for args, kwargs in (((64,), {"depth": 0, "padding": "same"}), ((64,), {"depth": 2, "padding": "full"}),
                             ((64,), {"depth": 2, "padding": "SAME"}), ((188,), {"depth": 4, "padding": "Valid"}),
                             ((0,), {"depth": 1, "padding": "same"}), ((-4,), {"depth": 1, "padding": "valid"})):
            shown = f"unet_output_size({args[0]}, depth={kwargs['depth']}, padding={kwargs['padding']!r})"
            _raises(unet_output_size, "ValueError", shown, *args, **kwargs)

    yield check_once("depth 0, an unknown padding ('full', 'SAME', 'Valid'), a side of 0 or below raise ValueError",
                     refuses)


# ---------------------------------------------------------------- unet_param_count

@aspect(A, task="unet_param_count", points=1)
def unet_param_count_formula(unet_param_count):
    """unet_param_count equals the paper's network's numel for any configuration, also far too large to build."""

    def count(case):
        args = (case["in_channels"], case["num_classes"], case["depth"], case["base_channels"])
        got = _call(unet_param_count, *args)
        assert_equal(got, R.unet_param_count(*args), what=f"unet_param_count{args}")

    yield check_property(
        "equals the number of parameters of the paper's U-Net (sum of numel over its layers) as an exact int, "
        "for in_channels up to 4, num_classes up to 5, depth 1 to 5, base_channels 1 to 8",
        S.config_cases(), count, max_examples=40,
        examples=[{"in_channels": 1, "num_classes": 2, "depth": 4, "base_channels": 64},      # the paper's
                  {"in_channels": 3, "num_classes": 1, "depth": 1, "base_channels": 1}])
    yield check_property(
        "a closed formula: configurations whose network would not fit in memory (base_channels up to 1e9, "
        "depth up to 40) are counted exactly, as Python ints",
        S.huge_config_cases(), count, max_examples=20,
        examples=[{"in_channels": 3, "num_classes": 10, "depth": 40, "base_channels": 10 ** 9}])


# ---------------------------------------------------------------- UNet

def _config(case) -> dict:
    return {k: case[k] for k in ("in_channels", "num_classes", "depth", "base_channels", "padding")}


def _build(UNet, case):
    return _call(UNet, **_config(case))


def _input(case, dtype=torch.float32, size=None) -> torch.Tensor:
    h, w = size or case["size"]
    return tensor_from_seed((case["batch"], case["in_channels"], h, w), case["seed"], low=0.0, high=1.0,
                            dtype=dtype)


def _illegal_near(n: int, depth: int, padding: str) -> int:
    """The closest illegal side above n (n itself legal)."""
    m = n + 1
    while R.unet_output_size(m, depth, padding) is not None:
        m += 1
    return m


def _unet_shown(case):
    return {**_config(case), "input": f"({case['batch']}, {case['in_channels']}, {case['size'][0]}, "
                                      f"{case['size'][1]})", "seed": case["seed"]}


@aspect(A, task="UNet", points=2)
def unet_output_shape(UNet):
    """UNet's logits have shape (N, num_classes, H', W') by the size rule; illegal sizes and arguments raise."""

    @showing(_unet_shown)
    def shapes(case):
        net = _build(UNet, case)
        h, w = case["size"]
        depth, padding = case["depth"], case["padding"]
        want = (case["batch"], case["num_classes"], R.unet_output_size(h, depth, padding),
                R.unet_output_size(w, depth, padding))
        forward = _module(UNet, "__call__")
        got = _call(forward, net, _input(case))
        expect_tensor(got, what=f"the output for an input of shape {(case['batch'], case['in_channels'], h, w)}",
                      shape=want, dtype=torch.float32)
        for bad in ((_illegal_near(h, depth, padding), w), (h, _illegal_near(w, depth, padding))):
            _raises(forward, "ValueError", f"the forward pass on an input of side {bad} (not legal)", net,
                    _input(case, size=bad))

    def refuses():
        for kwargs in ({"depth": 0, "padding": "same"}, {"depth": 2, "padding": "full"},
                       {"depth": 2, "padding": "SAME"}):
            _raises(UNet, "ValueError", f"UNet(1, 2, base_channels=2, **{kwargs})", 1, 2, base_channels=2, **kwargs)

    yield check_property(
        "the logits have shape (N, num_classes, H', W'), H' and W' by the size rule applied to H and W separately "
        "(depths 1 to 4, both paddings, the smallest legal sides); an input side that is not legal raises "
        "ValueError",
        S.unet_cases(), shapes, max_examples=12,
        examples=[{"in_channels": 1, "num_classes": 2, "depth": 4, "base_channels": 1, "padding": "valid",
                   "batch": 1, "size": (188, 204), "seed": 0},
                  {"in_channels": 3, "num_classes": 1, "depth": 2, "base_channels": 2, "padding": "same",
                   "batch": 2, "size": (8, 12), "seed": 1},
                  {"in_channels": 2, "num_classes": 3, "depth": 1, "base_channels": 3, "padding": "valid",
                   "batch": 1, "size": (18, 20), "seed": 2}])
    yield check_once("UNet(depth=0), UNet(padding='full') and UNet(padding='SAME') raise ValueError", refuses)


@aspect(A, task="UNet", points=1)
def unet_architecture(UNet):
    """UNet's layers are the paper's: channels double per level, 2x2 up-convolutions, a 1x1 head, no other layer."""

    @showing(lambda c: dict(c))
    def layout(case):
        net = _call(UNet, **case)
        config = {k: case[k] for k in ("in_channels", "num_classes", "depth", "base_channels")}
        want = R.unet_state_shapes(**config)
        _same_layout(_state(UNet, net, "your UNet"), want, "your UNet")

    yield check_property(
        "the state_dict has exactly the contract's names and shapes (down, bottom, up, decode, head; "
        "c_l = base_channels * 2**l), so its parameter count is the paper's; no buffers, valid or same padding",
        S.padded_config_cases(), layout, max_examples=25,
        examples=[{"in_channels": 1, "num_classes": 2, "depth": 4, "base_channels": 4, "padding": "valid"},
                  {"in_channels": 3, "num_classes": 1, "depth": 1, "base_channels": 1, "padding": "same"}])


@aspect(A, task="UNet", points=2)
def unet_skips_align(UNet):
    """With the reference's weights, UNet equals the paper's network: centred skips, concatenated before the up path."""

    @showing(_unet_shown)
    def same_values(case):
        config = _config(case)
        net = _build(UNet, case)
        want = R.unet_state_shapes(*(config[k] for k in ("in_channels", "num_classes", "depth", "base_channels")))
        _same_layout(_state(UNet, net, "your UNet"), want, "your UNet (the weights are loaded by these names)")
        state = R.random_state(config["in_channels"], config["num_classes"], config["depth"],
                               config["base_channels"], case["seed"])
        net = _call(_module(UNet, "double"), net)
        _call(_module(UNet, "load_state_dict"), net, state)
        reference = R.reference_unet(**config, state=state)
        x = _input(case, dtype=torch.float64)
        # train mode too: no dropout, no batch norm, nothing that depends on the mode; and inputs up to 100,
        # where activations pass 6 (a ReLU6 or a clamp shows)
        for mode, gain in (("eval", 1.0), ("eval", 100.0), ("train", 1.0)):
            _call(_module(UNet, mode), net)
            with torch.no_grad():
                got = _call(_module(UNet, "__call__"), net, gain * x)
                expected = reference(gain * x).detach()
            scale = float(expected.abs().max()) if expected.numel() else 1.0
            assert_close(got, expected, rtol=1e-7, atol=1e-9 * (1.0 + scale),
                         what=f"the logits in {mode} mode, for the input times {gain:g} (your UNet and the "
                              f"reference, loaded with the same float64 weights)")

    yield check_property(
        "loaded with the same float64 weights, the logits equal the reference's: max pooling, 2x2 up-convolution, "
        "the skip of each level cropped at the centre and concatenated first (torch.cat([skip, up], dim=1)), "
        "the 1x1 head, no activation after it, the same in train and eval mode (depths 1 to 4, both paddings, "
        "H != W, inputs up to 1 and up to 100)",
        S.unet_cases(), same_values, max_examples=12,
        examples=[{"in_channels": 1, "num_classes": 2, "depth": 2, "base_channels": 2, "padding": "valid",
                   "batch": 1, "size": (44, 60), "seed": 0},
                  {"in_channels": 2, "num_classes": 1, "depth": 3, "base_channels": 1, "padding": "valid",
                   "batch": 2, "size": (92, 100), "seed": 1},
                  {"in_channels": 3, "num_classes": 2, "depth": 2, "base_channels": 2, "padding": "same",
                   "batch": 1, "size": (8, 12), "seed": 2}])


# ---------------------------------------------------------------- training

_TRAIN_SEED, _TEST_SEED = 6_130_013, 8_410_013        # never shown in the notebook
DICE_NEEDED = 0.8
_data: list = []


@aspect(A, task="UNet", points=3, call_seconds=45, aspect_seconds=60)
def unet_trains(UNet):
    """Trained by the course's loop on 160 nuclei tiles, UNet's masks reach Dice >= 0.8 on 48 unseen tiles."""
    from medimg.data import nuclei_tiles

    def trained():
        if not _data:
            _data.extend(nuclei_tiles(160, 48, seed=_TRAIN_SEED) + nuclei_tiles(48, 48, seed=_TEST_SEED))
        images, masks, test_images, test_masks = _data
        pred = _call(around(UNet, "medgrade.worker.probes:train_unet"), images.clone(), masks.clone(),
                     test_images.clone(), seed=0)
        expect_tensor(pred, what="the predicted masks", shape=test_masks.shape, dtype=torch.bool)
        score = R.dice(pred, test_masks)
        if score < DICE_NEEDED:
            raise CheckFailed(f"Dice on the held-out tiles is {score:.3f}; at least {DICE_NEEDED} is needed "
                              f"(the course's network reaches about 0.88 with this loop)")

    yield check_once(
        "UNet(3, 2, depth=2, base_channels=8, padding='same'), built from torch.nn's layers and reset to their "
        "default initialization under the check's seed, trained by the notebook's loop (300 steps of 4 tiles, "
        "Adam, cross-entropy + soft Dice) on 160 tiles of 48 x 48 reaches Dice >= 0.8 on 48 new tiles",
        trained)
