"""Mutants of 26_compression."""
from medgrade.mutants import Mutant

MASK = "l1_unstructured_mask_correct"
TIES = "l1_unstructured_mask_ties"
GLOBAL = "global_l1_masks_correct"
PRUNE = "prune_conv_channels_correct"
EQUIV = "prune_conv_channels_equivalent"
SPEED = "prune_conv_channels_speed"
QP = "affine_qparams_correct"
COVER = "affine_qparams_cover_range"
QT = "quantize_per_tensor_correct"
QC = "quantize_per_channel_correct"
DQ = "dequantize_correct"
SIZE = "model_size_bytes_correct"
DYN = "compare_dynamic_quantization_correct"
KD = "distillation_loss_correct"
KDG = "distillation_loss_gradients"

_ORDER = "        order = torch.argsort(weight.detach().abs().reshape(-1), stable=True)   # smallest |w| first\n"

MUTANTS = [
    # ---------------------------------------------------------------- l1_unstructured_mask
    Mutant("mask_prunes_largest", "l1_unstructured_mask",
           (("mask[order[:k]] = 0", "mask[order[n - k:]] = 0"),),
           breaks=(MASK, TIES),
           why="prunes the weights of largest magnitude"),
    Mutant("mask_fraction_truncated", "l1_unstructured_mask",
           (("k = round(amount * n) if", "k = int(amount * n) if"),),
           breaks=(MASK,),
           why="int(amount * n) truncates where torch rounds (3.5 of 10 weights -> 3 instead of 4)"),
    Mutant("mask_int_amount_as_fraction", "l1_unstructured_mask",
           (("k = round(amount * n) if isinstance(amount, float) else int(amount)",
             "k = round(amount * n) if amount <= 1 else int(amount)"),),
           breaks=(MASK,),
           why="reads the int 1 as 100 % (and 0 as 0 %), not as one weight"),
    Mutant("mask_signed_values", "l1_unstructured_mask",
           (("torch.argsort(weight.detach().abs().reshape(-1), stable=True)",
             "torch.argsort(weight.detach().reshape(-1), stable=True)"),),
           breaks=(MASK, TIES),
           why="ranks the signed weights, so large negative weights are pruned first"),
    Mutant("mask_threshold_prunes_every_tie", "l1_unstructured_mask",
           (("        mask[order[:k]] = 0",
             "        flat = weight.detach().abs().reshape(-1)\n"
             "        mask[flat <= flat[order[k - 1]]] = 0"),),
           breaks=(TIES,), keeps=(MASK,),
           why="prunes everything up to the k-th magnitude: with ties, more than k weights"),
    Mutant("mask_threshold_strict", "l1_unstructured_mask",
           (("        mask[order[:k]] = 0",
             "        flat = weight.detach().abs().reshape(-1)\n"
             "        cut = flat[order[k]] if k < n else float('inf')\n"
             "        mask[flat < cut] = 0"),),
           breaks=(TIES,), keeps=(MASK,),
           why="prunes what lies strictly below the (k+1)-th magnitude: with ties, fewer than k"),
    # ---------------------------------------------------------------- global_l1_masks
    Mutant("global_layer_by_layer", "global_l1_masks",
           (("masks.append(piece.reshape(w.shape).to(w.dtype))",
             "masks.append(l1_unstructured_mask(w, amount))"),),
           breaks=(GLOBAL,),
           why="prunes each layer by the amount on its own instead of ranking all weights together"),
    Mutant("global_prunes_largest", "global_l1_masks",
           (("keep[order[:k]] = False", "keep[order[n - k:]] = False"),),
           breaks=(GLOBAL,),
           why="prunes the largest magnitudes"),
    Mutant("global_signed_values", "global_l1_masks",
           (("order = torch.argsort(flat.abs(), stable=True)", "order = torch.argsort(flat, stable=True)"),),
           breaks=(GLOBAL,),
           why="ranks signed weights instead of magnitudes"),
    # ---------------------------------------------------------------- prune_conv_channels
    Mutant("prune_keeps_smallest_filters", "prune_conv_channels",
           (("descending=True", "descending=False"),),
           breaks=(PRUNE, EQUIV),
           why="keeps the filters of smallest L1 norm"),
    Mutant("prune_norm_over_input_channels", "prune_conv_channels",
           (("norms = conv.weight.detach().abs().sum(dim=(1, 2, 3))",
             "norms = conv.weight.detach().abs().sum(dim=(0, 2, 3))"),),
           breaks=(PRUNE, EQUIV),
           why="scores input channels (sums over the output axis) instead of filters"),
    Mutant("prune_l2_norm", "prune_conv_channels",
           (("norms = conv.weight.detach().abs().sum(dim=(1, 2, 3))",
             "norms = conv.weight.detach().pow(2).sum(dim=(1, 2, 3))"),),
           breaks=(PRUNE, EQUIV),
           why="ranks filters by their squared L2 norm, not the L1 norm the contract names"),
    Mutant("prune_kept_in_norm_order", "prune_conv_channels",
           (("kept = torch.sort(order[:keep]).values", "kept = order[:keep]"),),
           breaks=(PRUNE,), keeps=(EQUIV,),
           why="keeps the right channels but in order of norm, not in their original order "
               "(the same function, a different layout)"),
    Mutant("prune_bias_not_copied", "prune_conv_channels",
           (("            new_conv.bias.copy_(conv.bias[kept])", "            pass"),),
           breaks=(PRUNE, EQUIV),
           why="leaves the new convolution's bias at its random initial value"),
    Mutant("prune_masks_instead_of_removing", "prune_conv_channels",
           (("    return new_conv, new_next",
             "    masked = copy.deepcopy(conv)\n"
             "    with torch.no_grad():\n"
             "        drop = torch.ones(conv.out_channels, dtype=torch.bool)\n"
             "        drop[kept] = False\n"
             "        masked.weight[drop] = 0\n"
             "        if masked.bias is not None:\n"
             "            masked.bias[drop] = 0\n"
             "    return masked, copy.deepcopy(next_conv)"),),
           breaks=(PRUNE, SPEED), keeps=(EQUIV,),
           why="zeroes the dropped filters but keeps full-size layers: the masked network itself"),
    Mutant("prune_full_size_compute", "prune_conv_channels",
           (("    return new_conv, new_next",
             "    class FullSizeCompute(nn.Conv2d):\n"
             "        def forward(self, x):\n"
             "            if self.in_kept is not None:\n"
             "                wide = x.new_zeros(x.shape[0], self.full_weight.shape[1], *x.shape[2:])\n"
             "                wide[:, self.in_kept] = x\n"
             "                x = wide\n"
             "            y = self._conv_forward(x, self.full_weight, self.full_bias)   # its padding_mode too\n"
             "            return y if self.out_kept is None else y[:, self.out_kept]\n"
             "\n"
             "    def detached(t):\n"
             "        return None if t is None else t.detach().clone()\n"
             "\n"
             "    new_conv.__class__ = FullSizeCompute\n"
             "    new_conv.full_weight = detached(getattr(conv, 'full_weight', conv.weight))\n"
             "    new_conv.full_bias = detached(getattr(conv, 'full_bias', conv.bias))\n"
             "    new_conv.in_kept = getattr(conv, 'in_kept', None)\n"
             "    new_conv.out_kept = kept\n"
             "    new_next.__class__ = FullSizeCompute\n"
             "    new_next.full_weight = detached(next_conv.weight)\n"
             "    new_next.full_bias = detached(next_conv.bias)\n"
             "    new_next.in_kept = kept\n"
             "    new_next.out_kept = None\n"
             "    return new_conv, new_next"),),
           breaks=(SPEED,), keeps=(PRUNE, EQUIV),
           why="smaller weights on show, but every forward runs the original full-size convolution "
               "(zeros scattered in, channels sliced out): right answers, no speed-up"),
    # ---------------------------------------------------------------- affine_qparams
    Mutant("qparams_range_without_zero", "affine_qparams",
           (("    lo = torch.clamp(x_min, max=0.0)\n    hi = torch.clamp(x_max, min=0.0)\n",
             "    lo = x_min\n    hi = x_max\n"),),
           breaks=(QP, COVER),
           why="does not widen the range to include 0 (an all-positive range loses its top)"),
    Mutant("qparams_zero_point_sign", "affine_qparams",
           (("qmin - torch.round(lo / scale)", "qmin + torch.round(lo / scale)"),),
           breaks=(QP, COVER),
           why="adds round(min / scale) instead of subtracting it"),
    Mutant("qparams_no_eps_floor", "affine_qparams",
           (("scale = torch.clamp((hi - lo) / (qmax - qmin), min=eps)", "scale = (hi - lo) / (qmax - qmin)"),),
           breaks=(QP, COVER),
           why="an all-zero range gives scale 0 and a zero point of 0 / 0"),
    Mutant("qparams_symmetric_over_qmax", "affine_qparams",
           (("scale = torch.clamp(torch.maximum(-lo, hi) / ((qmax - qmin) / 2), min=eps)",
             "scale = torch.clamp(torch.maximum(-lo, hi) / qmax, min=eps)"),),
           breaks=(QP,), keeps=(COVER,),
           why="symmetric scale max|x| / 127 instead of torch's max|x| / 127.5 (still covers the range)"),
    # ---------------------------------------------------------------- quantize
    Mutant("quantize_round_half_up", "quantize",
           (("q = torch.round(x.double() / scale) + zero_point", "q = torch.floor(x.double() / scale + 0.5) + zero_point"),),
           breaks=(QT, QC),
           why="rounds halves up (floor(v + 0.5)) instead of to even"),
    Mutant("quantize_truncates", "quantize",
           (("q = torch.round(x.double() / scale) + zero_point", "q = torch.trunc(x.double() / scale) + zero_point"),),
           breaks=(QT, QC),
           why="truncates toward zero instead of rounding"),
    Mutant("quantize_no_clamp", "quantize",
           (("return torch.clamp(q, qmin, qmax).to(torch.int64)", "return q.to(torch.int64)"),),
           breaks=(QT, QC),
           why="forgets to clamp to [qmin, qmax]"),
    Mutant("quantize_channels_on_axis_0", "quantize",
           (("        shape[axis] = -1\n", "        shape[0] = -1\n"),),
           breaks=(QC,), keeps=(QT,),
           why="always lays the per-channel parameters along axis 0"),
    Mutant("quantize_channels_on_last_axis", "quantize",
           (("        shape[axis] = -1\n", "        shape[-1] = -1\n"),),
           breaks=(QC,), keeps=(QT,),
           why="broadcasts the per-channel parameters along the last axis"),
    # ---------------------------------------------------------------- dequantize
    Mutant("dequantize_ignores_zero_point", "dequantize",
           (("(q.to(torch.int64) - zero_point) * scale", "q.to(torch.int64) * scale"),),
           breaks=(DQ,),
           why="forgets the zero point"),
    Mutant("dequantize_adds_zero_point", "dequantize",
           (("(q.to(torch.int64) - zero_point) * scale", "(q.to(torch.int64) + zero_point) * scale"),),
           breaks=(DQ,),
           why="adds the zero point instead of subtracting it"),
    Mutant("dequantize_float64", "dequantize",
           (("return ((q.to(torch.int64) - zero_point) * scale).to(torch.float32)",
             "return (q.to(torch.int64) - zero_point) * scale"),),
           breaks=(DQ,),
           why="returns float64 where torch's dequantize returns float32"),
    # ---------------------------------------------------------------- model_size_bytes
    Mutant("size_counts_parameters", "model_size_bytes",
           (("    buffer = io.BytesIO()\n    torch.save(model.state_dict(), buffer)\n    return buffer.getbuffer().nbytes",
             "    return sum(p.numel() * p.element_size() for p in model.parameters())"),),
           breaks=(SIZE,), keeps=("compare_dynamic_quantization_correct",),
           why="counts parameter bytes: no buffers, no quantized packed weights, no file overhead"),
    Mutant("size_of_whole_module", "model_size_bytes",
           (("torch.save(model.state_dict(), buffer)", "torch.save(model, buffer)"),),
           breaks=(SIZE,),
           why="pickles the whole module (code references and all) instead of its state_dict"),
    # ---------------------------------------------------------------- compare_dynamic_quantization
    Mutant("dynamic_float16", "compare_dynamic_quantization",
           (("quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)",
             "quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.float16)"),),
           breaks=(DYN,),
           why="quantizes to float16 instead of int8"),
    Mutant("dynamic_measures_the_float_model_twice", "compare_dynamic_quantization",
           (('"quantized_bytes": model_size_bytes(quantized)', '"quantized_bytes": model_size_bytes(model)'),),
           breaks=(DYN,),
           why="measures the float model again instead of the quantized copy"),
    Mutant("dynamic_output_of_float_model", "compare_dynamic_quantization",
           (("out = quantized(x)", "out = model(x)"),),
           breaks=(DYN,),
           why="returns the float model's output"),
    Mutant("dynamic_in_place", "compare_dynamic_quantization",
           (("quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)",
             "quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)"),),
           breaks=(DYN,),
           why="quantizes the caller's model in place (and then measures it as the float model)"),
    # ---------------------------------------------------------------- distillation_loss
    Mutant("kd_kl_div_by_alias", "distillation_loss",
           (("    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)\n",
             "    kl = torch._C._VariableFunctions.kl_div(log_p_student, log_p_teacher, 0, log_target=True).sum(dim=1)\n"),),
           breaks=(KD,),
           why="the library's kl_div reached through torch._C under another name"),
    Mutant("kd_without_T_squared", "distillation_loss",
           (("return kl.mean() * T * T", "return kl.mean()"),),
           breaks=(KD, KDG),
           why="forgets the T^2 factor"),
    Mutant("kd_reversed_kl", "distillation_loss",
           (("kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)",
             "kl = (log_p_student.exp() * (log_p_student - log_p_teacher)).sum(dim=1)"),),
           breaks=(KD, KDG),
           why="KL(student || teacher) instead of KL(teacher || student)"),
    Mutant("kd_mean_over_classes", "distillation_loss",
           (("return kl.mean() * T * T", "return kl.mean() / student_logits.shape[1] * T * T"),),
           breaks=(KD, KDG),
           why="reduction='mean' divides by N * C, not by the batch size"),
    Mutant("kd_log_of_softmax", "distillation_loss",
           (("log_p_student = torch.log_softmax(student_logits / T, dim=1)\n"
             "    log_p_teacher = torch.log_softmax(teacher_logits / T, dim=1)",
             "log_p_student = torch.softmax(student_logits / T, dim=1).log()\n"
             "    log_p_teacher = torch.softmax(teacher_logits / T, dim=1).log()"),),
           breaks=(KD,),
           why="log(softmax(...)) underflows to log(0) = -inf for large logits"),
    Mutant("kd_student_detached", "distillation_loss",
           (("torch.log_softmax(student_logits / T, dim=1)", "torch.log_softmax(student_logits.detach() / T, dim=1)"),),
           breaks=(KDG,), keeps=(KD,),
           why="detaches the student's logits: the right value, no gradient"),
]

# Wrong in ways the first generators did not reach: precision, memory layout, padding modes,
# ties among many filters, aliasing, integer dtypes, in-place changes left in the model.
MUTANTS += [
    Mutant("mask_ranks_in_float32", "l1_unstructured_mask",
           (("torch.argsort(weight.detach().abs().reshape(-1), stable=True)",
             "torch.argsort(weight.detach().float().abs().reshape(-1), stable=True)"),),
           breaks=(MASK,),
           why="ranks float64 magnitudes in float32: magnitudes closer than float32 resolves tie"),
    Mutant("mask_flattens_with_view", "l1_unstructured_mask",
           (("torch.argsort(weight.detach().abs().reshape(-1), stable=True)",
             "torch.argsort(weight.detach().view(-1).abs(), stable=True)"),),
           breaks=(MASK,),
           why="view(-1) fails on a transposed (non-contiguous) weight"),
    Mutant("global_ranks_in_float32", "global_l1_masks",
           (("order = torch.argsort(flat.abs(), stable=True)", "order = torch.argsort(flat.float().abs(), stable=True)"),),
           breaks=(GLOBAL,),
           why="ranks float64 layers in float32"),
    Mutant("global_flattens_with_view", "global_l1_masks",
           (("flat = torch.cat([w.detach().reshape(-1) for w in weights])",
             "flat = torch.cat([w.detach().view(-1) for w in weights])"),),
           breaks=(GLOBAL,),
           why="view(-1) fails on non-contiguous weights"),
    Mutant("prune_default_padding_mode", "prune_conv_channels",
           (("padding_mode=conv.padding_mode, device=conv.weight.device", "device=conv.weight.device"),),
           breaks=(PRUNE, EQUIV),
           why="new_conv gets the default zero padding where conv reflects, replicates or wraps"),
    Mutant("prune_unstable_sort", "prune_conv_channels",
           (("order = torch.argsort(norms, descending=True, stable=True)",
             "order = torch.argsort(norms, descending=True)"),),
           breaks=(PRUNE,),
           why="an unstable sort: among more than 16 equal norms it does not keep the lower indices"),
    Mutant("prune_returns_inputs_when_all_kept", "prune_conv_channels",
           (("    with torch.no_grad():\n        norms",
             "    if keep == conv.out_channels:\n        return conv, next_conv\n    with torch.no_grad():\n        norms"),),
           breaks=(PRUNE,),
           why="keep == C_out returns the input modules themselves, not new ones"),
    Mutant("prune_shares_weights_when_all_kept", "prune_conv_channels",
           (("    return new_conv, new_next",
             "    if keep == conv.out_channels:\n"
             "        new_conv.weight = conv.weight\n"
             "        new_next.weight = next_conv.weight\n"
             "    return new_conv, new_next"),),
           breaks=(PRUNE,),
           why="keep == C_out: new modules that hold the originals' weight Parameters (fine-tuning one "
               "changes the other)"),
    Mutant("qparams_zero_point_int32", "affine_qparams",
           (("    return scale, zero_point", "    return scale, zero_point.to(torch.int32)"),),
           breaks=(QP,),
           why="zero_point as int32 where the contract says int64"),
    Mutant("quantize_int32", "quantize",
           (("return torch.clamp(q, qmin, qmax).to(torch.int64)", "return torch.clamp(q, qmin, qmax).to(torch.int32)"),),
           breaks=(QT, QC),
           why="q as int32 where the contract says int64"),
    Mutant("quantize_storage_dtype", "quantize",
           (("return torch.clamp(q, qmin, qmax).to(torch.int64)",
             "return torch.clamp(q, qmin, qmax).to(torch.uint8 if qmin >= 0 else torch.int8)"),),
           breaks=(QT, QC),
           why="q in torch's storage dtype (uint8 / int8, like int_repr()) instead of int64"),
    Mutant("dequantize_in_input_dtype", "dequantize",
           (("(q.to(torch.int64) - zero_point) * scale", "(q - zero_point) * scale"),),
           breaks=(DQ,),
           why="q - zero_point in q's own dtype: a uint8 q from int_repr() wraps around below the zero point"),
    Mutant("dynamic_quantizes_model_after_measuring", "compare_dynamic_quantization",
           (("    quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)\n",
             "    float_bytes = model_size_bytes(model)\n"
             "    quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)\n"),
            ('"float_bytes": model_size_bytes(model)', '"float_bytes": float_bytes')),
           breaks=(DYN,),
           why="measures the float model first, then quantizes the caller's model in place: right numbers, "
               "the model ruined"),
    Mutant("dynamic_output_requires_grad", "compare_dynamic_quantization",
           (("    with torch.no_grad():\n        out = quantized(x)", "    out = quantized(x.requires_grad_())"),),
           breaks=(DYN,),
           why="runs the quantized model with grad on x: the output carries a graph"),
]

# Contracts the docstrings state beyond the values: the library refused, the inputs' precision.
MUTANTS += [
    Mutant("qparams_observer_per_tensor", "affine_qparams",
           (("    x_max = torch.as_tensor(x_max, dtype=torch.float32)\n",
             "    x_max = torch.as_tensor(x_max, dtype=torch.float32)\n"
             "    if x_min.dim() == 0:                 # one range: torch's observer does it\n"
             "        from torch.ao.quantization.observer import MinMaxObserver\n"
             "        observer = MinMaxObserver(dtype=torch.quint8 if qmin >= 0 else torch.qint8, quant_min=qmin,\n"
             "                                  quant_max=qmax, qscheme=torch.per_tensor_symmetric if symmetric\n"
             "                                  else torch.per_tensor_affine)\n"
             "        observer(torch.stack([x_min, x_max]))\n"
             "        scale, zero_point = observer.calculate_qparams()\n"
             "        return scale.reshape(()), zero_point.reshape(()).to(torch.int64)\n"),),
           breaks=(QP, COVER),
           why="hands the per-tensor case to torch's MinMaxObserver, which the task refuses"),
    Mutant("kd_in_float32", "distillation_loss",
           (("log_p_student = torch.log_softmax(student_logits / T, dim=1)\n"
             "    log_p_teacher = torch.log_softmax(teacher_logits / T, dim=1)",
             "log_p_student = torch.log_softmax(student_logits.float() / T, dim=1)   # float32 is enough\n"
             "    log_p_teacher = torch.log_softmax(teacher_logits.float() / T, dim=1)"),
            ("return kl.mean() * T * T", "return (kl.mean() * T * T).to(student_logits.dtype)")),
           breaks=(KD, KDG),
           why="float64 logits computed in float32 and cast back: float32 accuracy in a float64 loss"),
]

# the demo's buggy student makes these mistakes
DEMO = ("kd_without_T_squared", "prune_masks_instead_of_removing")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_topk_mask", "l1_unstructured_mask",
           ((_ORDER + "        mask[order[:k]] = 0",
             "        mask[torch.topk(weight.detach().abs().reshape(-1), k, largest=False).indices] = 0"),),
           breaks=(), keeps=(MASK, TIES),
           why="torch.topk picks the k smallest (its own choice among ties)"),
    Mutant("honest_global_kthvalue", "global_l1_masks",
           (("        order = torch.argsort(flat.abs(), stable=True)\n        keep[order[:k]] = False",
             "        magnitudes = flat.abs()\n"
             "        smallest = torch.topk(magnitudes, k, largest=False).indices\n"
             "        keep.index_fill_(0, smallest, False)"),),
           breaks=(), keeps=(GLOBAL,),
           why="topk and index_fill_ instead of a sort"),
    Mutant("honest_prune_boolean_selection", "prune_conv_channels",
           (("norms = conv.weight.detach().abs().sum(dim=(1, 2, 3))",
             "norms = conv.weight.detach().flatten(1).norm(p=1, dim=1)"),
            ("kept = torch.sort(order[:keep]).values",
             "chosen = torch.zeros(conv.out_channels, dtype=torch.bool)\n"
             "        chosen[order[:keep]] = True\n"
             "        kept = chosen.nonzero().flatten()")),
           breaks=(), keeps=(PRUNE, EQUIV, SPEED),
           why="the L1 norm by Tensor.norm and the kept channels from a boolean mask"),
    Mutant("honest_qparams_float64", "affine_qparams",
           (("x_min = torch.as_tensor(x_min, dtype=torch.float32)", "x_min = torch.as_tensor(x_min, dtype=torch.float64)"),
            ("x_max = torch.as_tensor(x_max, dtype=torch.float32)", "x_max = torch.as_tensor(x_max, dtype=torch.float64)")),
           breaks=(), keeps=(QP, COVER),
           why="computes scale and zero point in float64 (torch works in float32)"),
    Mutant("honest_quantize_reciprocal", "quantize",
           (("q = torch.round(x.double() / scale) + zero_point", "q = torch.round(x.double() * (1.0 / scale)) + zero_point"),),
           breaks=(), keeps=(QT, QC),
           why="multiplies by the reciprocal of the scale"),
    Mutant("honest_dequantize_expanded", "dequantize",
           (("return ((q.to(torch.int64) - zero_point) * scale).to(torch.float32)",
             "return (q.double() * scale - zero_point * scale).float()"),),
           breaks=(), keeps=(DQ,),
           why="q * s - z * s in float64"),
    Mutant("honest_size_via_file", "model_size_bytes",
           (("    buffer = io.BytesIO()\n    torch.save(model.state_dict(), buffer)\n    return buffer.getbuffer().nbytes",
             "    import os\n    import tempfile\n"
             "    with tempfile.TemporaryDirectory() as folder:\n"
             "        path = os.path.join(folder, 'weights.pt')\n"
             "        torch.save(model.state_dict(), path)\n"
             "        return os.path.getsize(path)"),),
           breaks=(), keeps=(SIZE,),
           why="saves to a temporary file and reads its size"),
    Mutant("honest_dynamic_copy_in_place", "compare_dynamic_quantization",
           (("quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)",
             "quantized = quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8, inplace=True)"),),
           breaks=(), keeps=(DYN,),
           why="quantizes a deep copy in place"),
    Mutant("honest_kd_entropy_form", "distillation_loss",
           (("kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)",
             "p_teacher = torch.softmax(teacher_logits / T, dim=1)\n"
             "    kl = (p_teacher * log_p_teacher).sum(dim=1) - (p_teacher * log_p_student).sum(dim=1)"),),
           breaks=(), keeps=(KD, KDG),
           why="negative entropy minus cross-entropy, with softmax for the teacher's probabilities"),
]
