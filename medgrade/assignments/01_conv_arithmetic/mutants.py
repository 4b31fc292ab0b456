from medgrade.mutants import Mutant

_PIXEL_LOOP = """    w_flat = weight.reshape(C_out, C_in * kh * kw)
    out = x.new_empty(N, H_out, W_out, C_out)
    for i in range(H_out):
        for j in range(W_out):
            out[:, i, j] = windows[:, :, i, j].reshape(N, C_in * kh * kw) @ w_flat.T
    out = out.reshape(N * H_out * W_out, C_out)
"""

_ELEMENT_LOOP = """    out = x.new_zeros(N, H_out, W_out, C_out)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for o in range(C_out):
                    for c in range(C_in):
                        for u in range(kh):
                            for v in range(kw):
                                out[n, i, j, o] += windows[n, c, i, j, u, v] * weight[o, c, u, v]
    out = out.reshape(N * H_out * W_out, C_out)
"""

_IM2COL_AND_MATMUL = """    cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C_in * kh * kw)
    out = cols @ weight.reshape(C_out, C_in * kh * kw).T       # (N * H_out * W_out, C_out)
"""

MUTANTS = [
    # ---- conv_output_size
    Mutant("output_size_ignores_dilation", "conv_output_size",
           (("span = d * (k - 1) + 1", "span = k"),),
           breaks=("conv_output_size_correct",),
           why="uses the kernel size instead of the dilated span d(k-1)+1"),
    Mutant("output_size_without_plus_one", "conv_output_size",
           (("// s + 1", "// s"),),
           breaks=("conv_output_size_correct",),
           why="counts the steps between windows instead of the windows"),
    Mutant("output_size_pads_one_side", "conv_output_size",
           (("n + 2 * p", "n + p"),),
           breaks=("conv_output_size_correct",),
           why="adds the padding once instead of on both sides"),
    Mutant("output_size_true_division", "conv_output_size",
           (("// s + 1", "/ s + 1"),),
           breaks=("conv_output_size_correct",),
           why="/ returns a float, wrong whenever the stride does not divide"),

    # ---- conv_transpose_output_size
    Mutant("transpose_forgets_output_padding", "conv_transpose_output_size",
           (("span + output_padding", "span"),),
           breaks=("conv_transpose_output_size_correct",)),
    Mutant("transpose_n_times_stride", "conv_transpose_output_size",
           (("(n - 1) * s", "n * s"),),
           breaks=("conv_transpose_output_size_correct",),
           why="n stamps span (n-1) strides, not n"),
    Mutant("transpose_ignores_dilation", "conv_transpose_output_size",
           (("span = d * (k - 1) + 1", "span = k"),),
           breaks=("conv_transpose_output_size_correct",)),

    # ---- conv2d: correctness
    Mutant("pad_order_swapped", "conv2d",
           (("F.pad(x, (pw, pw, ph, ph))", "F.pad(x, (ph, ph, pw, pw))"),),
           breaks=("conv2d_correct",),
           why="F.pad starts from the last dimension: right only when ph == pw"),
    Mutant("kernel_flipped", "conv2d",
           (("weight.reshape(C_out, C_in * kh * kw).T", "weight.flip(2, 3).reshape(C_out, C_in * kh * kw).T"),),
           breaks=("conv2d_correct",), keeps=("conv2d_properties",),
           why="a true convolution: linear, equivariant and batch-independent, but not nn.Conv2d"),
    Mutant("dilation_first_taps", "conv2d",
           (("windows[..., ::dh, ::dw]", "windows[..., :kh, :kw]"),),
           breaks=("conv2d_correct",),
           why="takes the first kh x kw taps of the span instead of every d-th one"),
    Mutant("batch_mixed_with_pixels", "conv2d",
           (("windows.permute(0, 2, 3, 1, 4, 5)", "windows.permute(2, 3, 0, 1, 4, 5)"),),
           breaks=("conv2d_correct", "conv2d_properties"),
           why="rows ordered (i, j, n) but read back as (n, i, j): right only for N = 1"),
    Mutant("height_width_swapped", "conv2d",
           (("out.reshape(N, H_out, W_out, C_out).permute(0, 3, 1, 2)",
             "out.reshape(N, W_out, H_out, C_out).permute(0, 3, 2, 1)"),),
           breaks=("conv2d_correct", "conv2d_properties"),
           why="right shape, scrambled pixels: right only for square outputs"),
    Mutant("bias_ignored", "conv2d",
           (("out = out + bias", "out = out"),),
           breaks=("conv2d_correct",)),
    Mutant("calls_library_unfold", "conv2d",
           ((_IM2COL_AND_MATMUL,
             "    cols = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))\n"
             "    cols = cols.transpose(1, 2).reshape(N * H_out * W_out, C_in * kh * kw)\n"
             "    out = cols @ weight.reshape(C_out, C_in * kh * kw).T\n"),),
           breaks=("conv2d_correct", "conv2d_speed"),
           why="correct values, but F.unfold is the im2col the task asks for"),
    Mutant("matmul_in_numpy", "conv2d",
           (("    out = cols @ weight.reshape(C_out, C_in * kh * kw).T       # (N * H_out * W_out, C_out)\n",
             "    out = torch.from_numpy(cols.detach().numpy() @ weight.detach().reshape(C_out, -1).numpy().T)\n"),),
           breaks=("conv2d_correct",),
           why="right values, but the result is cut off from autograd"),
    Mutant("calls_f_conv2d", "conv2d",
           (("    return out.reshape(N, H_out, W_out, C_out).permute(0, 3, 1, 2)",
             "    return F.conv2d(x, weight, bias, (sh, sw), (ph, pw), (dh, dw))"),),
           breaks=("conv2d_correct", "conv2d_speed")),

    # ---- conv2d: edge cases
    Mutant("reshape_minus_one", "conv2d",
           (("out.reshape(N, H_out, W_out, C_out)", "out.reshape(N, H_out, W_out, -1)"),),
           breaks=("conv2d_edge_cases",), keeps=("conv2d_correct",),
           why="-1 is ambiguous when the batch is empty"),
    Mutant("weight_view", "conv2d",
           (("weight.reshape(C_out, C_in * kh * kw)", "weight.view(C_out, C_in * kh * kw)"),),
           breaks=("conv2d_edge_cases",), keeps=("conv2d_correct",),
           why="view fails on a non-contiguous weight"),

    # ---- conv2d: speed
    Mutant("library_on_large_inputs", "conv2d",
           (("    xp = F.pad(x, (pw, pw, ph, ph))",
             "    if x.shape[-1] >= 64:\n"
             "        return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)\n"
             "    xp = F.pad(x, (pw, pw, ph, ph))"),),
           breaks=("conv2d_speed",), keeps=("conv2d_correct",),
           why="F.conv2d only on inputs as large as the timed ones: the correctness checks never see it"),
    Mutant("pixel_loop", "conv2d",
           ((_IM2COL_AND_MATMUL, _PIXEL_LOOP),),
           breaks=("conv2d_speed",), keeps=("conv2d_correct",),
           why="a Python loop over output pixels, vectorized over batch and channels"),

    # ---- count_parameters
    Mutant("counts_frozen_parameters", "count_parameters",
           ((" if p.requires_grad", ""),),
           breaks=("count_parameters_correct",)),
    Mutant("counts_state_dict", "count_parameters",
           (("sum(p.numel() for p in model.parameters() if p.requires_grad)",
             "sum(v.numel() for v in model.state_dict().values())"),),
           breaks=("count_parameters_correct",),
           why="buffers, frozen parameters and every name of a shared tensor"),
    Mutant("counts_tied_weights_twice", "count_parameters",
           (("for p in model.parameters()", "for m in model.modules() for p in m.parameters(recurse=False)"),),
           breaks=("count_parameters_correct",)),

    # ---- conv_flops
    Mutant("flops_are_macs", "conv_flops",
           (("return 2 * macs_per_output * outputs", "return macs_per_output * outputs"),),
           breaks=("conv_flops_correct",)),
    Mutant("flops_ignore_groups", "conv_flops",
           (("(in_channels // groups)", "in_channels"),),
           breaks=("conv_flops_correct",)),
    Mutant("flops_count_bias", "conv_flops",
           (("return 2 * macs_per_output * outputs", "return 2 * macs_per_output * outputs + outputs"),),
           breaks=("conv_flops_correct",)),
    Mutant("flops_ignore_batch", "conv_flops",
           (("outputs = batch_size * out_channels * h_out * w_out", "outputs = out_channels * h_out * w_out"),),
           breaks=("conv_flops_correct",),
           why="counts one image whatever batch_size says"),
]

# Seven nested loops over every multiply-add: measured by hand (about 70,000x F.conv2d), left
# out of the suite because it is slow to grade (about 20 s for conv2d_correct, then one timed
# call of about 20 s before conv2d_speed gives up).
ELEMENT_LOOP = Mutant("element_loop", "conv2d", ((_IM2COL_AND_MATMUL, _ELEMENT_LOOP),),
                      breaks=("conv2d_speed",), keeps=("conv2d_correct",))

# the demo's buggy student (cyd_buggy) makes these mistakes
DEMO = ("output_size_ignores_dilation", "bias_ignored")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_loop_over_kernel_offsets", "conv2d",
           (("""    cols = windows.permute(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C_in * kh * kw)
    out = cols @ weight.reshape(C_out, C_in * kh * kw).T       # (N * H_out * W_out, C_out)
    if bias is not None:
        out = out + bias
    return out.reshape(N, H_out, W_out, C_out).permute(0, 3, 1, 2)""",
             """    out = x.new_zeros(N, C_out, H_out, W_out)
    for u in range(kh):
        for v in range(kw):
            out = out + torch.einsum("nchw,oc->nohw", windows[..., u, v], weight[:, :, u, v])
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out"""),),
           breaks=(), keeps=("conv2d_correct", "conv2d_edge_cases", "conv2d_properties", "conv2d_speed"),
           why="one product per kernel tap, vectorized over pixels: correct and fast enough"),
]
