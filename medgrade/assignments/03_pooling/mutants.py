"""Mutants of 03_pooling."""
from medgrade.mutants import Mutant

SIZE = "pool_output_size_correct"
INVALID = "pool_output_size_invalid"
VALUES = "max_pool2d_values"
INDICES = "max_pool2d_indices"
SPEED = "max_pool2d_speed"
BACKWARD = "max_pool2d_backward_correct"
AVG = "avg_pool2d_correct"
AVG_CEIL = "avg_pool2d_ceil_mode"
GAP = "global_avg_pool2d_correct"

MUTANTS = [
    # ---------------------------------------------------------------- pool_output_size
    Mutant("ceil_without_start_rule", "pool_output_size",
           (("        if (out - 1) * s >= n + p:              # the last window would start in the right padding\n"
             "            out -= 1\n", ""),),
           breaks=(SIZE,), keeps=("avg_pool2d_correct", "avg_pool2d_ceil_mode", "max_pool2d_values", "max_pool2d_indices"),
           why="ceil mode as a plain ceiling: keeps a last window that starts in the right padding"),
    Mutant("ceil_mode_ignored", "pool_output_size",
           (("    if ceil_mode:\n", "    if False:\n"),),
           breaks=(SIZE,),
           why="always rounds down, whatever ceil_mode says"),
    Mutant("size_ignores_dilation", "pool_output_size",
           (("span = d * (k - 1) + 1", "span = k"),),
           breaks=(SIZE,),
           why="the window spans k positions even when its taps are d apart"),
    Mutant("padding_limit_not_checked", "pool_output_size",
           (("    if p > k // 2:\n        raise ValueError(f\"padding {p} is more than half of kernel_size {k}\")\n", ""),),
           breaks=(INVALID,), keeps=(SIZE,),
           why="accepts padding larger than half the kernel, which PyTorch refuses"),
    Mutant("padding_limit_of_the_span", "pool_output_size",
           (("    if p > k // 2:", "    if p > (d * (k - 1) + 1) // 2:"),),
           breaks=(INVALID,), keeps=(SIZE,),
           why="limits the padding by half the dilated span instead of half the kernel size"),
    Mutant("returns_zero_for_too_small_input", "pool_output_size",
           (("        raise ValueError(f\"an input of length {n} is too small for this window (output size {out})\")",
             "        return 0"),),
           breaks=(INVALID,), keeps=(SIZE,),
           why="returns 0 (or less) instead of raising when the window does not fit"),
    Mutant("size_checks_zero_not_negative", "pool_output_size",
           (("if k < 1 or s < 1 or d < 1 or p < 0:", "if k < 1 or s == 0 or d == 0 or p < 0:"),),
           breaks=(INVALID,), keeps=(SIZE,),
           why="refuses a zero stride or dilation but accepts a negative one"),
    Mutant("size_window_must_fit", "pool_output_size",
           (("    span = d * (k - 1) + 1                      # positions covered by one window\n",
             "    span = d * (k - 1) + 1                      # positions covered by one window\n"
             "    if span > n + 2 * p:\n"
             "        raise ValueError(f\"the window ({span}) is longer than the padded input\")\n"),),
           breaks=(INVALID,), keeps=(SIZE,),
           why="refuses a window longer than the padded input, which ceil mode accepts (one window)"),
    # ---------------------------------------------------------------- max_pool2d: values
    Mutant("max_zero_padding", "max_pool2d",
           (("padded = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h), value=float(\"-inf\"))",
             "padded = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h))"),),
           breaks=(VALUES, INDICES),
           why="pads with zeros: a window of negative values returns 0 from the padding"),
    Mutant("max_stride_none_means_one", "max_pool2d",
           (("sh, sw = as_pair(kernel_size if stride is None else stride)",
             "sh, sw = as_pair(1 if stride is None else stride)"),),
           breaks=(VALUES, INDICES),
           why="stride=None taken as stride 1 instead of stride = kernel_size"),
    Mutant("max_dilation_taps_adjacent", "max_pool2d",
           (("[..., ::dh, ::dw]", "[..., :kh, :kw]"),),
           breaks=(VALUES,),
           why="with dilation, reads the first k adjacent positions of the span instead of every d-th"),
    Mutant("max_ceil_window_not_padded", "max_pool2d",
           (("    extra_h = max(0, (oh - 1) * sh + span_h - (h + 2 * ph))\n"
             "    extra_w = max(0, (ow - 1) * sw + span_w - (w + 2 * pw))\n",
             "    extra_h = extra_w = 0\n"),),
           breaks=(VALUES, INDICES),
           why="in ceil mode the last window reaches past the padding, and is not built"),
    Mutant("max_pads_with_minus_1e9", "max_pool2d",
           (('value=float("-inf")', "value=-1e9"),),
           breaks=(VALUES, INDICES),
           why="pads with a large finite negative number: inputs below it lose to the padding"),
    Mutant("max_clamps_input_in_place", "max_pool2d",
           (("    batched = x.dim() == 4\n", "    batched = x.dim() == 4\n    x.clamp_(min=-1e30, max=1e30)\n"),),
           breaks=(VALUES,),
           why="clamps x in place (\"against overflow\"): modifies the input and the extreme values"),
    # ---------------------------------------------------------------- max_pool2d: indices only
    Mutant("indices_in_padded_plane", "max_pool2d",
           (("    indices = rows * w + cols\n", "    indices = (rows + ph) * (w + 2 * pw) + (cols + pw)\n"),),
           breaks=(INDICES,), keeps=(VALUES,),
           why="numbers the positions of the padded plane instead of the input's"),
    Mutant("indices_last_maximum_on_ties", "max_pool2d",
           (("    values, where = windows.reshape(n, c, oh, ow, kh * kw).max(dim=-1)   # the first maximum on ties\n",
             "    values, where = windows.reshape(n, c, oh, ow, kh * kw).flip(-1).max(dim=-1)\n"
             "    where = kh * kw - 1 - where\n"),),
           breaks=(INDICES,), keeps=(VALUES,),
           why="on ties returns the last maximum of the window instead of the first"),
    Mutant("indices_within_window", "max_pool2d",
           (("    indices = rows * w + cols\n", "    indices = where\n"),),
           breaks=(INDICES,), keeps=(VALUES,),
           why="returns the position inside the window (0 .. k*k - 1) instead of in the input plane"),
    Mutant("indices_column_major", "max_pool2d",
           (("    indices = rows * w + cols\n", "    indices = cols * h + rows\n"),),
           breaks=(INDICES,), keeps=(VALUES,),
           why="flattens the plane column by column (w * H + h)"),
    Mutant("indices_pad_with_lowest_finite", "max_pool2d",
           (('value=float("-inf")', "value=torch.finfo(x.dtype).min"),),
           breaks=(INDICES,), keeps=(VALUES,),
           why="pads with the dtype's lowest finite value: it ties with such an input, and the padding "
               "comes first"),
    # ---------------------------------------------------------------- max_pool2d: speed
    Mutant("max_pool_loop_over_output_pixels", "max_pool2d",
           (("""    windows = padded.unfold(2, span_h, sh).unfold(3, span_w, sw)[..., ::dh, ::dw]
    values, where = windows.reshape(n, c, oh, ow, kh * kw).max(dim=-1)   # the first maximum on ties
""", """    values = torch.empty(n, c, oh, ow, dtype=x.dtype, device=x.device)
    where = torch.empty(n, c, oh, ow, dtype=torch.int64, device=x.device)
    for i in range(oh):
        for j in range(ow):
            window = padded[:, :, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]
            values[:, :, i, j], where[:, :, i, j] = window.reshape(n, c, kh * kw).max(dim=-1)
"""),),
           breaks=(SPEED,), keeps=(VALUES, INDICES),
           why="a Python loop over the output positions, vectorized over batch and channels"),
    # ---------------------------------------------------------------- max_pool2d_backward
    Mutant("backward_assigns_instead_of_adding", "max_pool2d_backward",
           (("grad_in.scatter_add_(1, where, planes)", "grad_in.scatter_(1, where, planes)"),),
           breaks=(BACKWARD,),
           why="writes each gradient instead of adding: a pixel that wins several windows keeps one"),
    Mutant("backward_index_put_without_accumulate", "max_pool2d_backward",
           (("grad_in.scatter_add_(1, where, planes)",
             "grad_in[torch.arange(planes.shape[0])[:, None], where] = planes"),),
           breaks=(BACKWARD,),
           why="advanced-index assignment: repeated indices are not accumulated"),
    Mutant("backward_indices_over_whole_tensor", "max_pool2d_backward",
           (("""    grad_in = torch.zeros(planes.shape[0], h * w, dtype=grad_out.dtype, device=grad_out.device)
    grad_in.scatter_add_(1, where, planes)          # add, never assign: one pixel can win many windows
""", """    grad_in = torch.zeros(planes.shape[0] * h * w, dtype=grad_out.dtype, device=grad_out.device)
    grad_in.index_add_(0, where.reshape(-1), planes.reshape(-1))
"""),),
           breaks=(BACKWARD,),
           why="treats the per-plane indices as indices into the whole flattened tensor"),
    Mutant("backward_rows_and_columns_swapped", "max_pool2d_backward",
           (("    return grad_in.reshape(tuple(input_shape))",
             "    return grad_in.reshape(*input_shape[:-2], w, h).transpose(-1, -2)"),),
           breaks=(BACKWARD,),
           why="reads the flat index as w * H + h: the gradient lands on the transposed position"),
    Mutant("backward_scales_grad_out_in_place", "max_pool2d_backward",
           (("    where = indices.reshape(planes.shape)\n", "    where = indices.reshape(planes.shape)\n    planes.mul_(2.0)\n"),
            ("    return grad_in.reshape(tuple(input_shape))", "    return grad_in.reshape(tuple(input_shape)) / 2")),
           breaks=(BACKWARD,),
           why="scales grad_out in place (a view of it) and undoes the scale on the result"),
    Mutant("backward_assumes_contiguous", "max_pool2d_backward",
           (("    planes = grad_out.reshape(-1, grad_out.shape[-2] * grad_out.shape[-1])     # one row per (n, c)\n",
             "    hw = grad_out.shape[-2] * grad_out.shape[-1]\n"
             "    planes = torch.as_strided(grad_out, (grad_out.numel() // hw, hw), (hw, 1))\n"),),
           breaks=(BACKWARD,),
           why="reads grad_out's memory as if it were contiguous"),
    Mutant("backward_planes_by_batch_size", "max_pool2d_backward",
           (("    planes = grad_out.reshape(-1, grad_out.shape[-2] * grad_out.shape[-1])     # one row per (n, c)\n",
             "    planes = grad_out.reshape(grad_out.shape[:-2].numel(), -1)\n"),),
           breaks=(BACKWARD,),
           why="lets -1 stand for the plane size: ambiguous when the batch is empty (N = 0)"),
    # ---------------------------------------------------------------- avg_pool2d
    Mutant("avg_count_include_pad_ignored", "avg_pool2d",
           (("        if not count_include_pad:\n            start, end = start.clamp(min=0), end.clamp(max=n_in)\n", ""),),
           breaks=(AVG,),
           why="always counts the padding in the divisor, whatever count_include_pad says"),
    Mutant("avg_divisor_kernel_area", "avg_pool2d",
           (("    out = sums / divisor.to(x.dtype)", "    out = sums / (kh * kw)"),),
           breaks=(AVG, AVG_CEIL),
           why="divides every window by k_h * k_w"),
    Mutant("avg_stride_none_means_one", "avg_pool2d",
           (("sh, sw = as_pair(kernel_size if stride is None else stride)",
             "sh, sw = as_pair(1 if stride is None else stride)"),),
           breaks=(AVG,),
           why="stride=None taken as stride 1"),
    Mutant("avg_divisor_counts_overhang", "avg_pool2d",
           (("        end = torch.clamp(start + k, max=n_in + p)        # never past the padding",
             "        end = start + k"),),
           breaks=(AVG_CEIL,), keeps=(AVG,),
           why="counts the positions a ceil-mode window has beyond the padding (divides by k*k)"),
    Mutant("avg_ceil_window_not_padded", "avg_pool2d",
           (("    extra_h = max(0, (oh - 1) * sh + kh - (h + 2 * ph))\n"
             "    extra_w = max(0, (ow - 1) * sw + kw - (w + 2 * pw))\n",
             "    extra_h = extra_w = 0\n"),),
           breaks=(AVG_CEIL,), keeps=(AVG,),
           why="in ceil mode the last window reaches past the padding, and is not built"),
    Mutant("avg_scales_input_in_place", "avg_pool2d",
           (("    padded = F.pad(x, (pw", "    x.mul_(0.25)\n    padded = F.pad(x, (pw"),
            ("    out = sums / divisor.to(x.dtype)", "    out = sums * 4 / divisor.to(x.dtype)")),
           breaks=(AVG,),
           why="scales x in place before summing: the output is right, the caller's input is not"),
    # ---------------------------------------------------------------- global_avg_pool2d
    Mutant("gap_keepdim_ignored", "global_avg_pool2d",
           (("return x.mean(dim=(-2, -1), keepdim=keepdim)", "return x.mean(dim=(-2, -1))"),),
           breaks=(GAP,),
           why="returns (N, C) even when keepdim=True"),
    Mutant("gap_divides_by_height", "global_avg_pool2d",
           (("return x.mean(dim=(-2, -1), keepdim=keepdim)",
             "return x.sum(dim=(-2, -1), keepdim=keepdim) / x.shape[-2]"),),
           breaks=(GAP,),
           why="sums the plane and divides by H instead of H * W"),
    Mutant("gap_flattens_channels_too", "global_avg_pool2d",
           (("return x.mean(dim=(-2, -1), keepdim=keepdim)",
             "out = x.flatten(1).mean(1, keepdim=True).expand(-1, x.shape[1])\n"
             "    return out[..., None, None] if keepdim else out"),),
           breaks=(GAP,),
           why="averages over channels as well as positions"),
]

# the demo's buggy student makes these mistakes
DEMO = ("indices_last_maximum_on_ties", "backward_assigns_instead_of_adding")

# Honest alternatives: written differently from the solution, they must keep every aspect they list.
MUTANTS += [
    Mutant("honest_size_by_float_ceiling", "pool_output_size",
           (("""    if ceil_mode:
        out = -(-room // s) + 1                 # ceil(room / s) + 1, in integers
        if (out - 1) * s >= n + p:              # the last window would start in the right padding
            out -= 1
    else:
        out = room // s + 1
""", """    import math
    out = (math.ceil(room / s) if ceil_mode else math.floor(room / s)) + 1
    if ceil_mode and (out - 1) * s > n + p - 1:
        out = out - 1
"""),),
           breaks=(), keeps=(SIZE, INVALID),
           why="math.ceil / math.floor on a float quotient, the rule written with > n + p - 1"),
    Mutant("honest_max_pool_as_strided_argmax", "max_pool2d",
           (("""    windows = padded.unfold(2, span_h, sh).unfold(3, span_w, sw)[..., ::dh, ::dw]
    values, where = windows.reshape(n, c, oh, ow, kh * kw).max(dim=-1)   # the first maximum on ties
""", """    padded = padded.contiguous()
    s0, s1, s2, s3 = padded.stride()
    windows = padded.as_strided((n, c, oh, ow, kh, kw), (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw))
    flat = windows.reshape(n, c, oh, ow, kh * kw)
    where = flat.argmax(dim=-1)
    values = flat.gather(-1, where[..., None])[..., 0]
"""),),
           breaks=(), keeps=(VALUES, INDICES, SPEED),
           why="as_strided windows, argmax and gather instead of unfold and max"),
    Mutant("honest_max_pool_loop_over_offsets", "max_pool2d",
           (("""    windows = padded.unfold(2, span_h, sh).unfold(3, span_w, sw)[..., ::dh, ::dw]
    values, where = windows.reshape(n, c, oh, ow, kh * kw).max(dim=-1)   # the first maximum on ties
""", """    values = torch.full((n, c, oh, ow), float("-inf"), dtype=x.dtype, device=x.device)
    where = torch.zeros((n, c, oh, ow), dtype=torch.int64, device=x.device)
    for a in range(kh):
        for b in range(kw):
            tap = padded[:, :, a * dh:a * dh + (oh - 1) * sh + 1:sh, b * dw:b * dw + (ow - 1) * sw + 1:sw]
            better = tap > values                     # strictly larger: the first maximum stays
            values = torch.where(better, tap, values)
            where = torch.where(better, torch.full_like(where, a * kw + b), where)
"""),),
           breaks=(), keeps=(VALUES, INDICES, SPEED),
           why="a loop over the k*k window offsets, vectorized over every output position"),
    Mutant("honest_backward_index_put_accumulate", "max_pool2d_backward",
           (("    grad_in.scatter_add_(1, where, planes)          # add, never assign: one pixel can win many windows\n",
             "    rows = torch.arange(planes.shape[0], device=grad_out.device)[:, None].expand_as(where)\n"
             "    grad_in.index_put_((rows.reshape(-1), where.reshape(-1)), planes.reshape(-1), accumulate=True)\n"),),
           breaks=(), keeps=(BACKWARD,),
           why="index_put_ with accumulate=True over (plane, position) pairs"),
    Mutant("honest_avg_divisor_from_a_mask", "avg_pool2d",
           (("""    def counted(n_in, k, s, p, n_out):
        \"\"\"How many positions of each window the divisor counts, along one dimension.\"\"\"
        start = torch.arange(n_out, device=x.device) * s - p
        end = torch.clamp(start + k, max=n_in + p)        # never past the padding
        if not count_include_pad:
            start, end = start.clamp(min=0), end.clamp(max=n_in)
        return end - start

    divisor = counted(h, kh, sh, ph, oh)[:, None] * counted(w, kw, sw, pw, ow)[None, :]
""", """    # pool a mask of what counts: ones on the input (and on the padding if it is counted)
    mask = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
    mask = F.pad(mask, (pw, pw, ph, ph), value=1.0 if count_include_pad else 0.0)
    mask = F.pad(mask, (0, extra_w, 0, extra_h))
    divisor = mask.unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))[0, 0]
"""),),
           breaks=(), keeps=(AVG, AVG_CEIL),
           why="the divisor as the window sums of a mask, by the same unfold as the values"),
    Mutant("honest_gap_flatten", "global_avg_pool2d",
           (("return x.mean(dim=(-2, -1), keepdim=keepdim)",
             "out = x.flatten(2).sum(-1) / (x.shape[-2] * x.shape[-1])\n"
             "    return out[..., None, None] if keepdim else out"),),
           breaks=(), keeps=(GAP,),
           why="flatten the plane, sum, divide by H * W"),
]
