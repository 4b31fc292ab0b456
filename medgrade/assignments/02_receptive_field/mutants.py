"""Mutants of 02_receptive_field."""
from medgrade.mutants import Mutant

SIZE = "receptive_field_size"
START = "receptive_field_start"
CONV = "empirical_receptive_field_conv"
POOL = "empirical_receptive_field_pooling"
PARAMS = "conv_stack_cost_params"
FLOPS = "conv_stack_cost_flops"

# A top-down walk (an interval of positions mapped layer by layer), written two ways below.
_BOTTOM_UP_HEAD = """    size, jump, start = 1, 1, 0.0
    for layer in layers:"""
_TOP_DOWN_START = "    lo, hi, jump = 0, 0, 1                               # the last layer's unit 0, as an interval"
_TOP_DOWN_TAIL = ("""        start += ((span - 1) / 2 - padding) * jump       # centre of the first window, in input pixels
        size += (span - 1) * jump                        # measured with the jump of the layer below ...
        jump *= stride                                   # ... and only then multiplied by the stride
    return size, jump, start""", """        lo, hi = lo * stride - padding, hi * stride - padding + span - 1
        jump *= stride
    return hi - lo + 1, jump, (lo + hi) / 2""")

MUTANTS = [
    Mutant("rf_fills_defaults_in_place", "receptive_field",
           (('        stride = layer.get("stride")\n        if stride is None:                               # PyTorch: a pool\'s stride defaults to its kernel\n            stride = k if layer["kind"] == "pool" else 1\n',
             '        if layer.get("stride") is None:\n            layer["stride"] = k if layer["kind"] == "pool" else 1\n        stride = layer["stride"]\n'),),
           breaks=(SIZE, START),
           why="writes the default stride into the caller's layer dicts"),
    # ---------------------------------------------------------------- receptive_field
    Mutant("rf_ignores_dilation", "receptive_field",
           (('span = layer.get("dilation", 1) * (k - 1) + 1', "span = k"),),
           breaks=(SIZE, START),
           why="uses the kernel size instead of the dilated span d(k-1)+1"),
    Mutant("rf_jump_updated_first", "receptive_field",
           (("        size += (span - 1) * jump                        # measured with the jump of the layer below ...\n"
             "        jump *= stride", "        jump *= stride\n        size += (span - 1) * jump"),),
           breaks=(SIZE,), keeps=(START,),
           why="multiplies the jump by the layer's own stride before adding its window"),
    Mutant("rf_pool_stride_one", "receptive_field",
           (('stride = k if layer["kind"] == "pool" else 1', "stride = 1"),),
           breaks=(SIZE, START),
           why="a pool without a stride gets stride 1 (PyTorch's default is the kernel size)"),
    Mutant("rf_sum_of_kernels", "receptive_field",
           (("size += (span - 1) * jump", "size += span - 1"),),
           breaks=(SIZE,), keeps=(START,),
           why="adds k - 1 per layer whatever the strides before it"),
    Mutant("rf_start_ignores_padding", "receptive_field",
           (("start += ((span - 1) / 2 - padding) * jump", "start += (span - 1) / 2 * jump"),),
           breaks=(START,), keeps=(SIZE,),
           why="forgets that padding moves the first window left"),
    Mutant("rf_start_half_pixel_convention", "receptive_field",
           (("size, jump, start = 1, 1, 0.0", "size, jump, start = 1, 1, 0.5"),),
           breaks=(START,), keeps=(SIZE,),
           why="puts pixel i's centre at i + 0.5 instead of i, as the contract fixes"),
    Mutant("rf_start_with_new_jump", "receptive_field",
           (("        start += ((span - 1) / 2 - padding) * jump       # centre of the first window, in input pixels\n", ""),
            ("        jump *= stride                                   # ... and only then multiplied by the stride",
             "        jump *= stride\n        start += ((span - 1) / 2 - padding) * jump")),
           breaks=(START,), keeps=(SIZE,),
           why="moves the start with the jump of the layer itself instead of the layer below"),
    # ---------------------------------------------------------------- empirical_receptive_field
    Mutant("erf_real_weights", "empirical_receptive_field",
           (("                with torch.no_grad():\n"
             "                    child.weight.fill_(1.0)              # every tap counts, with the same sign\n"
             "                    if child.bias is not None:\n"
             "                        child.bias.zero_()               # no bias can push a ReLU below zero\n",
             "                pass\n"),),
           breaks=(CONV, POOL),
           why="measures with the model's own weights and biases: zero taps and dead ReLUs hide pixels"),
    Mutant("erf_abs_weights", "empirical_receptive_field",
           (("child.weight.fill_(1.0)", "child.weight.abs_()"),),
           breaks=(CONV,),
           why="makes the weights positive with abs(), which keeps pruned (zero) taps at zero"),
    Mutant("erf_keeps_bias", "empirical_receptive_field",
           (("                    if child.bias is not None:\n"
             "                        child.bias.zero_()               # no bias can push a ReLU below zero\n", ""),),
           breaks=(CONV,),
           why="sets the weights to 1 but keeps the biases: a large negative bias still kills the ReLUs"),
    Mutant("erf_keeps_batch_norm", "empirical_receptive_field",
           (("            elif isinstance(child, nn.BatchNorm2d):\n"
             "                parent.add_module(name, nn.Identity())   # per-channel affine maps do not move the field\n", ""),),
           breaks=(CONV,),
           why="keeps batch norm (in eval mode): a negative or zero scale flips or kills the signal"),
    Mutant("erf_batch_norm_training_mode", "empirical_receptive_field",
           (("probe = copy.deepcopy(model).double().eval()", "probe = copy.deepcopy(model).double()"),
            ("            elif isinstance(child, nn.BatchNorm2d):\n"
             "                parent.add_module(name, nn.Identity())   # per-channel affine maps do not move the field\n", "")),
           breaks=(CONV,),
           why="leaves batch norm in the mode it came in: in training mode its statistics spread the gradient"),
    Mutant("erf_modifies_the_model", "empirical_receptive_field",
           (("probe = copy.deepcopy(model).double().eval()", "probe = model.double().eval()"),),
           breaks=(CONV, POOL),
           why="neutralizes the model given instead of a copy: its weights are overwritten"),
    Mutant("erf_flat_model_only", "empirical_receptive_field",
           (("            else:\n                neutralize(child)                        # containers: look inside\n", ""),),
           breaks=(CONV, POOL),
           why="looks only at the top level of the model, not inside nested nn.Sequential"),
    Mutant("erf_centre_rounded_down", "empirical_receptive_field",
           (("unit = (y.shape[2] // 2, y.shape[3] // 2)", "unit = ((y.shape[2] - 1) // 2, (y.shape[3] - 1) // 2)"),),
           breaks=(CONV, POOL),
           why="takes (H_out - 1) // 2 as the centre, one unit off for even output sizes"),
    Mutant("erf_fills_bounding_box", "empirical_receptive_field",
           (("    return (x.grad[0] != 0).any(dim=0)",
             "    mask = (x.grad[0] != 0).any(dim=0)\n"
             "    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()\n"
             "    box = torch.zeros_like(mask)\n"
             "    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True\n"
             "    return box"),),
           breaks=(CONV,),
           why="returns the field's bounding box: the holes that dilation leaves are filled"),
    Mutant("erf_keeps_max_pool", "empirical_receptive_field",
           (("            elif isinstance(child, nn.MaxPool2d):        # the same windows, every pixel of them counts\n"
             "                parent.add_module(name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,\n"
             "                                                     ceil_mode=child.ceil_mode))\n", ""),),
           breaks=(POOL,), keeps=(CONV,),
           why="keeps the max pools: the gradient reaches only one pixel of each window"),
    Mutant("erf_keeps_max_pool_random_inputs", "empirical_receptive_field",
           (("            elif isinstance(child, nn.MaxPool2d):        # the same windows, every pixel of them counts\n"
             "                parent.add_module(name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,\n"
             "                                                     ceil_mode=child.ceil_mode))\n", ""),
            ("    x = torch.ones(1, *input_size, dtype=torch.float64, requires_grad=True)\n"
             "    y = probe(x)\n"
             "    if unit is None:\n"
             "        unit = (y.shape[2] // 2, y.shape[3] // 2)\n"
             "    y[0, 0, unit[0], unit[1]].backward()\n"
             "    return (x.grad[0] != 0).any(dim=0)",
             "    g = torch.Generator().manual_seed(0)\n"
             "    x = torch.rand(8, *input_size, generator=g, dtype=torch.float64).add_(0.1).requires_grad_(True)\n"
             "    y = probe(x)\n"
             "    if unit is None:\n"
             "        unit = (y.shape[2] // 2, y.shape[3] // 2)\n"
             "    y[:, 0, unit[0], unit[1]].sum().backward()\n"
             "    return (x.grad != 0).any(dim=1).any(dim=0)")),
           breaks=(POOL,), keeps=(CONV,),
           why="keeps the max pools and takes the union over 8 random positive inputs: still misses pixels"),
    Mutant("erf_avg_pool_without_padding", "empirical_receptive_field",
           (("nn.AvgPool2d(child.kernel_size, child.stride, child.padding,\n"
             "                                                     ceil_mode=child.ceil_mode)",
             "nn.AvgPool2d(child.kernel_size, child.stride)"),),
           breaks=(POOL,), keeps=(CONV,),
           why="replaces a max pool by an average pool without its padding and ceil_mode: other windows"),
    # ---------------------------------------------------------------- conv_stack_cost
    Mutant("cost_without_bias", "conv_stack_cost",
           (("params += weights + (c_out if bias else 0)", "params += weights"),),
           breaks=(PARAMS,), keeps=(FLOPS,),
           why="forgets the biases"),
    Mutant("cost_depthwise_count", "conv_stack_cost",
           (("weights = c_out * c_in * kh * kw", "weights = c_out * kh * kw"),),
           breaks=(PARAMS, FLOPS),
           why="one k x k filter per output channel, as if every input channel shared it"),
    Mutant("cost_square_kernels_only", "conv_stack_cost",
           (("kernels = [(k, k) if isinstance(k, int) else tuple(k) for k in kernel_sizes]",
             "kernels = [(k, k) if isinstance(k, int) else (k[0], k[0]) for k in kernel_sizes]"),),
           breaks=(PARAMS, FLOPS),
           why="reads only the first number of a (kh, kw) kernel"),
    Mutant("cost_macs_not_flops", "conv_stack_cost",
           (("flops += 2 * weights * h * w", "flops += weights * h * w"),),
           breaks=(FLOPS,), keeps=(PARAMS,),
           why="counts multiply-accumulates, half of FlopCounterMode's FLOPs"),
    Mutant("cost_counts_bias_additions", "conv_stack_cost",
           (("flops += 2 * weights * h * w", "flops += 2 * weights * h * w + (c_out * h * w if bias else 0)"),),
           breaks=(FLOPS,), keeps=(PARAMS,),
           why="adds the bias additions, which FlopCounterMode does not count"),
    Mutant("cost_valid_padding", "conv_stack_cost",
           (("        flops += 2 * weights * h * w                     # \"same\" padding: every layer outputs h x w",
             "        h, w = h - kh + 1, w - kw + 1\n        flops += 2 * weights * max(h, 0) * max(w, 0)"),),
           breaks=(FLOPS,), keeps=(PARAMS,),
           why="lets every layer shrink the map (no padding), though the stack is 'same'"),
    Mutant("cost_bias_default_false", "conv_stack_cost",
           (("def conv_stack_cost(kernel_sizes, channels, size, bias=True):",
             "def conv_stack_cost(kernel_sizes, channels, size, bias=False):"),),
           breaks=(PARAMS,), keeps=(FLOPS,),
           why="defaults to no bias, though the signature and nn.Conv2d default to bias=True"),
    Mutant("cost_int32_arithmetic", "conv_stack_cost",
           (("        flops += 2 * weights * h * w ",
             "        flops += int(torch.tensor([2 * weights, h * w], dtype=torch.int32).prod(dtype=torch.int32)) "),),
           breaks=(FLOPS,),
           why="counts in int32 tensors: large stacks overflow 2**31"),
    Mutant("cost_float_arithmetic", "conv_stack_cost",
           (("flops += 2 * weights * h * w", "flops += 2.0 * weights * h * w"),
            ("    return params, flops", "    return params, int(flops)")),
           breaks=(FLOPS,), keeps=(PARAMS,),
           why="counts in floating point and rounds at the end: wrong beyond 2**53"),
]
MUTANTS += [
    Mutant("rf_pool_ignores_dilation", "receptive_field",
           (('span = layer.get("dilation", 1) * (k - 1) + 1',
             'span = (layer.get("dilation", 1) if layer["kind"] == "conv" else 1) * (k - 1) + 1'),),
           breaks=(SIZE, START),
           why="applies the dilation to convolutions only, though a pool can be dilated too"),
    Mutant("erf_nesting_two_levels_only", "empirical_receptive_field",
           (("    def neutralize(parent):", "    def neutralize(parent, depth=0):"),
            ("                neutralize(child)                        # containers: look inside",
             "                if depth < 1:                            # the model and its blocks only\n"
             "                    neutralize(child, depth + 1)")),
           breaks=(CONV, POOL),
           why="looks one container deep: layers in a Sequential inside a Sequential inside the model are missed"),
    Mutant("erf_relative_threshold", "empirical_receptive_field",
           (("    return (x.grad[0] != 0).any(dim=0)",
             "    g = x.grad[0].abs().sum(dim=0)\n    return g > g.max() * 1e-12"),),
           breaks=(CONV, POOL),
           why="thresholds the gradient relative to its maximum: the edge of a deep field is far below it"),
    Mutant("rf_reverses_the_list_in_place", "receptive_field",
           ((_BOTTOM_UP_HEAD, _TOP_DOWN_START + """
    layers.reverse()                                     # walk down from the last layer
    for layer in layers:"""),
            _TOP_DOWN_TAIL),
           breaks=(SIZE, START),
           why="right numbers from a top-down walk, but it reverses the caller's list to get there"),
    Mutant("erf_absolute_threshold", "empirical_receptive_field",
           (("    return (x.grad[0] != 0).any(dim=0)", "    return x.grad[0].abs().sum(dim=0) > 1e-6"),),
           breaks=(POOL,),
           why="an absolute threshold: each average pool divides the gradient by k * k, many pools go below it"),
]

# the demo's buggy student makes these mistakes
DEMO = ("rf_start_ignores_padding", "erf_keeps_max_pool")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_rf_top_down_interval", "receptive_field",
           ((_BOTTOM_UP_HEAD, _TOP_DOWN_START + """
    for layer in reversed(layers):"""),
            _TOP_DOWN_TAIL),
           breaks=(), keeps=(SIZE, START),
           why="walks down from the last unit, mapping its interval of positions to the layer below"),
    Mutant("honest_rf_closed_form", "receptive_field",
           (("""    size, jump, start = 1, 1, 0.0
    for layer in layers:""", """    import math
    strides, spans, pads = [], [], []
    for layer in layers:"""),
            ("""        start += ((span - 1) / 2 - padding) * jump       # centre of the first window, in input pixels
        size += (span - 1) * jump                        # measured with the jump of the layer below ...
        jump *= stride                                   # ... and only then multiplied by the stride
    return size, jump, start""", """        strides.append(stride)
        spans.append(span)
        pads.append(padding)
    below = [math.prod(strides[:i]) for i in range(len(strides))]
    size = 1 + sum((sp - 1) * b for sp, b in zip(spans, below))
    start = sum(((sp - 1) / 2 - p) * b for sp, p, b in zip(spans, pads, below))
    return size, math.prod(strides), float(start)""")),
           breaks=(), keeps=(SIZE, START),
           why="the unrolled sums with products of strides instead of the running recurrence"),
    Mutant("honest_erf_positive_random_weights", "empirical_receptive_field",
           (("child.weight.fill_(1.0)", "child.weight.uniform_(0.5, 1.5)"),
            ("    x = torch.ones(1, *input_size, dtype=torch.float64, requires_grad=True)",
             "    x = (torch.rand(1, *input_size, dtype=torch.float64) + 0.5).requires_grad_(True)"),
            ("    y[0, 0, unit[0], unit[1]].backward()\n    return (x.grad[0] != 0).any(dim=0)",
             "    (grad,) = torch.autograd.grad(y[0, 0, unit[0], unit[1]], x)\n"
             "    return grad[0].abs().sum(dim=0) > 0")),
           breaks=(), keeps=(CONV, POOL),
           why="random positive weights and a random positive input, torch.autograd.grad instead of backward"),
    Mutant("honest_erf_modules_loop", "empirical_receptive_field",
           (("""    def neutralize(parent):
        for name, child in list(parent.named_children()):""",
             """    def neutralize(root):
        for parent in list(root.modules()):
            for name, child in list(parent.named_children()):
                replace(parent, name, child)

    def replace(parent, name, child):
        if True:"""),
            ("""            else:
                neutralize(child)                        # containers: look inside
""", "")),
           breaks=(), keeps=(CONV, POOL),
           why="visits every container with model.modules() instead of recursing by hand"),
    Mutant("honest_cost_sum_formula", "conv_stack_cost",
           (("""    params = flops = 0
    for (kh, kw), c_in, c_out in zip(kernels, channels[:-1], channels[1:]):
        weights = c_out * c_in * kh * kw
        params += weights + (c_out if bias else 0)
        flops += 2 * weights * h * w                     # "same" padding: every layer outputs h x w
    return params, flops""", """    weights = sum(a * b * kh * kw for (kh, kw), a, b in zip(kernels, channels, channels[1:]))
    biases = sum(channels[1:len(kernels) + 1]) if bias else 0
    return int(weights + biases), int(2 * weights * h * w)"""),),
           breaks=(), keeps=(PARAMS, FLOPS),
           why="two sums instead of a loop"),
    Mutant("honest_cost_tuple_tests", "conv_stack_cost",
           (("kernels = [(k, k) if isinstance(k, int) else tuple(k) for k in kernel_sizes]",
             "kernels = [k if isinstance(k, tuple) else (k, k) for k in kernel_sizes]"),
            ("h, w = (size, size) if isinstance(size, int) else size",
             "h, w = size if isinstance(size, tuple) else (size, size)")),
           breaks=(), keeps=(PARAMS, FLOPS),
           why="tells pairs from ints by isinstance(..., tuple): pairs must arrive as tuples"),
    Mutant("honest_erf_float32_channel0", "empirical_receptive_field",
           (("probe = copy.deepcopy(model).double().eval()", "probe = copy.deepcopy(model).float().eval()"),
            ("dtype=torch.float64, requires_grad", "dtype=torch.float32, requires_grad"),
            ("    return (x.grad[0] != 0).any(dim=0)", "    return x.grad[0, 0] > 0")),
           breaks=(), keeps=(CONV, POOL),
           why="float32 and the first input channel only (groups=1: every channel has the same field)"),
]
