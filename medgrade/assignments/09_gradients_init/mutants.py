"""Known-wrong answers of 09_gradients_init (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

FANS = "fans_correct"
GAIN = "calculate_gain_correct"
XU, XN = "xavier_uniform_statistics", "xavier_normal_statistics"
KU, KN = "kaiming_uniform_statistics", "kaiming_normal_statistics"
NORMS = "layer_grad_norms_correct"
CLIP, CLIP_CONTRACT = "clip_grad_norm_correct", "clip_grad_norm_contract"

_RETURN_FANS = "return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field"
_MODE = 'fan = fan_in if mode == "fan_in" else fan_out'

MUTANTS = [
    # ---------------------------------------------------------------- fans
    Mutant("fans_swapped", "fans",
           ((_RETURN_FANS, "return tensor.shape[0] * receptive_field, tensor.shape[1] * receptive_field"),),
           breaks=(FANS,), keeps=(XU, XN, KU, KN),
           why="returns (fan_out, fan_in): reads the weight as (in, out), as in the maths, not as PyTorch stores it"),
    Mutant("fans_without_receptive_field", "fans",
           (("receptive_field *= side", "pass"),),
           breaks=(FANS,),
           why="counts channels only: a 3x3 convolution's fans are 9 times too small"),
    Mutant("fans_last_kernel_side_only", "fans",
           (("receptive_field *= side", "receptive_field = side"),),
           breaks=(FANS,),
           why="takes the last kernel side for the receptive field instead of the product of all sides"),
    Mutant("fans_no_value_error", "fans",
           (("    if tensor.dim() < 2:\n        raise ValueError(f\"fans need a weight of 2 or more dimensions, "
             "got shape {tuple(tensor.shape)}\")\n", ""),),
           breaks=(FANS,),
           why="no check of the dimensions: a vector fails with an IndexError, not a ValueError"),
    # ---------------------------------------------------------------- calculate_gain
    Mutant("gain_tanh_one", "calculate_gain",
           (("return 5.0 / 3.0", "return 1.0"),),
           breaks=(GAIN,), keeps=(KU, KN),
           why="treats tanh as linear near zero and gives it gain 1 instead of 5/3"),
    Mutant("gain_leaky_default_zero", "calculate_gain",
           (("slope = 0.01", "slope = 0.0"),),
           breaks=(GAIN,),
           why="leaky_relu's default slope taken as 0 instead of 0.01"),
    Mutant("gain_leaky_without_sqrt", "calculate_gain",
           (("return math.sqrt(2.0 / (1 + slope ** 2))", "return 2.0 / (1 + slope ** 2)"),),
           breaks=(GAIN,),
           why="gives leaky_relu the variance factor 2 / (1 + a^2) instead of its square root"),
    Mutant("gain_accepts_any_slope", "calculate_gain",
           (("elif isinstance(param, (int, float)) and not isinstance(param, bool):", "else:"),
            ("        else:\n            raise ValueError(f\"negative_slope {param!r} is not a valid number\")\n", "")),
           breaks=(GAIN,),
           why="does not validate the slope: a string or a bool gets through (or fails with a TypeError)"),
    # ---------------------------------------------------------------- xavier_uniform_
    Mutant("xavier_uniform_bound_is_std", "xavier_uniform_",
           (("bound = math.sqrt(3.0) * std", "bound = std"),),
           breaks=(XU,),
           why="uses the std as the bound: U(-std, std) has a third of the variance"),
    Mutant("xavier_uniform_fan_in_only", "xavier_uniform_",
           (("std = gain * math.sqrt(2.0 / (fan_in + fan_out))", "std = gain * math.sqrt(1.0 / fan_in)"),),
           breaks=(XU,),
           why="LeCun's 1 / fan_in instead of Glorot's 2 / (fan_in + fan_out)"),
    Mutant("xavier_uniform_positive", "xavier_uniform_",
           (("tensor.uniform_(-bound, bound, generator=generator)", "tensor.uniform_(0.0, bound, generator=generator)"),),
           breaks=(XU,),
           why="draws from U(0, b): only positive weights, mean b / 2"),
    Mutant("xavier_uniform_global_rng", "xavier_uniform_",
           ((", generator=generator)", ")"),),
           breaks=(XU,),
           why="ignores the generator and draws from torch's global one: not reproducible"),
    # ---------------------------------------------------------------- xavier_normal_
    Mutant("xavier_normal_variance_as_std", "xavier_normal_",
           (("tensor.normal_(0.0, std, generator=generator)", "tensor.normal_(0.0, std ** 2, generator=generator)"),),
           breaks=(XN,),
           why="passes the variance where normal_ expects the standard deviation"),
    Mutant("xavier_normal_is_uniform", "xavier_normal_",
           (("tensor.normal_(0.0, std, generator=generator)",
             "tensor.uniform_(-math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator=generator)"),),
           breaks=(XN,),
           why="the uniform distribution with the right variance, where a normal one is asked for"),
    Mutant("xavier_normal_ignores_gain", "xavier_normal_",
           (("std = gain * math.sqrt", "std = math.sqrt"),),
           breaks=(XN,),
           why="forgets the gain"),
    Mutant("xavier_normal_new_tensor", "xavier_normal_",
           (("return tensor.normal_(0.0, std, generator=generator)",
             "return torch.empty_like(tensor).normal_(0.0, std, generator=generator)"),),
           breaks=(XN,),
           why="returns a new tensor and leaves the weight it was given as it was"),
    # ---------------------------------------------------------------- kaiming_uniform_
    Mutant("kaiming_uniform_mode_ignored", "kaiming_uniform_",
           ((_MODE, "fan = fan_in"),),
           breaks=(KU,),
           why="always uses fan_in, whatever mode says"),
    Mutant("kaiming_uniform_slope_ignored", "kaiming_uniform_",
           (("std = calculate_gain(nonlinearity, a)", "std = calculate_gain(nonlinearity)"),),
           breaks=(KU,),
           why="leaves out a: leaky_relu always gets the default slope 0.01"),
    Mutant("kaiming_uniform_always_relu_gain", "kaiming_uniform_",
           (("std = calculate_gain(nonlinearity, a)", "std = math.sqrt(2.0)"),),
           breaks=(KU,),
           why="uses ReLU's gain sqrt(2) whatever the nonlinearity"),
    Mutant("kaiming_uniform_without_no_grad", "kaiming_uniform_",
           (("    with torch.no_grad():\n        return tensor.uniform_", "    return tensor.uniform_"),),
           breaks=(KU,),
           why="writes outside torch.no_grad(): fails on an nn.Parameter (a leaf that requires grad)"),
    # ---------------------------------------------------------------- kaiming_normal_
    Mutant("kaiming_normal_modes_swapped", "kaiming_normal_",
           ((_MODE, 'fan = fan_out if mode == "fan_in" else fan_in'),),
           breaks=(KN,),
           why="swaps the modes: fan_in uses fan_out and the other way round"),
    Mutant("kaiming_normal_std_over_fan", "kaiming_normal_",
           (("/ math.sqrt(fan)", "/ fan"),),
           breaks=(KN,),
           why="divides the gain by fan instead of sqrt(fan): the variance gain^2 / fan^2"),
    Mutant("kaiming_normal_global_rng", "kaiming_normal_",
           ((", generator=generator)", ")"),),
           breaks=(KN,),
           why="ignores the generator: not reproducible"),
    Mutant("kaiming_normal_clamped_3_std", "kaiming_normal_",
           (("return tensor.normal_(0.0, std, generator=generator)",
             "return tensor.normal_(0.0, std, generator=generator).clamp_(-3 * std, 3 * std)"),),
           breaks=(KN,),
           why="clamps the normal at 3 std to avoid outliers: mean and variance stay within noise, the tails are gone"),
    # ---------------------------------------------------------------- layer_grad_norms
    Mutant("layer_norms_with_biases", "layer_grad_norms",
           (("weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]",
             "weights = list(model.parameters())"),),
           breaks=(NORMS,),
           why="one norm per parameter, biases included, instead of one per layer's weight"),
    Mutant("layer_norms_every_weight", "layer_grad_norms",
           (("weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]",
             "weights = [p for n, p in model.named_parameters() if n.endswith('weight')]"),),
           breaks=(NORMS,),
           why="takes every parameter named weight, a LayerNorm's too, not only the nn.Linear weights"),
    Mutant("layer_norms_stale_grads", "layer_grad_norms",
           (("    grads = torch.autograd.grad(loss, weights)\n",
             "    loss.backward()\n    grads = [w.grad for w in weights]\n"),),
           breaks=(NORMS,),
           why="backward() without zeroing first: adds the gradients left in .grad by an earlier step"),
    Mutant("layer_norms_squared", "layer_grad_norms",
           (("g.norm() for g in grads", "g.pow(2).sum() for g in grads"),),
           breaks=(NORMS,),
           why="returns the squared norms"),
    Mutant("layer_norms_direct_children", "layer_grad_norms",
           (("for m in model.modules()", "for m in model.children()"),),
           breaks=(NORMS,),
           why="looks at the model's direct children only: misses the layers of a nested nn.Sequential"),
    # ---------------------------------------------------------------- clip_grad_norm_
    Mutant("clip_per_tensor", "clip_grad_norm_",
           (("    coef = max_norm / (total + 1e-6)\n    if coef < 1:\n        for g in grads:\n"
             "            g.detach().mul_(coef.to(g.dtype))\n",
             "    for g, n in zip(grads, norms):\n        coef = max_norm / (n + 1e-6)\n        if coef < 1:\n"
             "            g.detach().mul_(coef.to(g.dtype))\n"),),
           breaks=(CLIP,),
           why="clips each gradient by its own norm: the direction of the whole step changes"),
    Mutant("clip_always_scales", "clip_grad_norm_",
           (("if coef < 1:", "if True:"),),
           breaks=(CLIP,),
           why="scales by max_norm / total even when the total is below max_norm: small gradients grow"),
    Mutant("clip_returns_clipped_norm", "clip_grad_norm_",
           (("    return total\n", "    return torch.clamp(total, max=max_norm)\n"),),
           breaks=(CLIP,),
           why="returns the norm after clipping instead of before"),
    Mutant("clip_sum_of_norms", "clip_grad_norm_",
           (("total = torch.linalg.vector_norm(norms, norm_type)", "total = norms.sum()"),),
           breaks=(CLIP,),
           why="adds the per-tensor norms instead of taking the p-norm of them"),
    Mutant("clip_inf_by_formula", "clip_grad_norm_",
           (("total = torch.linalg.vector_norm(norms, norm_type)",
             "total = norms.pow(norm_type).sum().pow(1.0 / norm_type)"),),
           breaks=(CLIP,),
           why="the p-norm formula also for p = inf: 0 or inf instead of the largest value"),
    Mutant("clip_single_tensor_iterated", "clip_grad_norm_",
           (("    if isinstance(parameters, torch.Tensor):\n        parameters = [parameters]\n", ""),),
           breaks=(CLIP_CONTRACT,), keeps=(CLIP,),
           why="iterates over a single tensor (its rows, which have no .grad) instead of wrapping it in a list"),
    Mutant("clip_indexes_parameters", "clip_grad_norm_",
           (("grads = [p.grad for p in parameters if p.grad is not None]",
             "grads = [parameters[i].grad for i in range(len(parameters)) if parameters[i].grad is not None]"),),
           breaks=(CLIP_CONTRACT,), keeps=(CLIP,),
           why="uses len() and indexing: fails on model.parameters(), a generator"),
    Mutant("clip_none_grads_not_skipped", "clip_grad_norm_",
           ((" if p.grad is not None]", "]"),),
           breaks=(CLIP_CONTRACT,), keeps=(CLIP,),
           why="does not skip parameters without a gradient (frozen or unused layers)"),
    Mutant("clip_no_gradients_crash", "clip_grad_norm_",
           (("    if not grads:\n        return torch.tensor(0.0)\n", ""),),
           breaks=(CLIP_CONTRACT,), keeps=(CLIP,),
           why="no gradient at all: torch.stack of an empty list raises instead of returning 0"),
]

# the demo's buggy student makes these mistakes
DEMO = ("kaiming_uniform_mode_ignored", "clip_always_scales")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_fans_by_numel", "fans",
           (("    receptive_field = 1\n    for side in tensor.shape[2:]:\n        receptive_field *= side\n",
             "    receptive_field = tensor[0][0].numel() if tensor.numel() else math.prod(tensor.shape[2:])\n"),),
           breaks=(), keeps=(FANS,),
           why="honest: the receptive field as the number of elements of one kernel"),
    Mutant("honest_xavier_uniform_from_rand", "xavier_uniform_",
           (("    with torch.no_grad():\n        return tensor.uniform_(-bound, bound, generator=generator)\n",
             "    u = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)\n"
             "    with torch.no_grad():\n        tensor.copy_((2 * u - 1) * bound)\n    return tensor\n"),),
           breaks=(), keeps=(XU,),
           why="honest: 2u - 1 from torch.rand, copied in"),
    Mutant("honest_kaiming_normal_from_randn", "kaiming_normal_",
           (("    with torch.no_grad():\n        return tensor.normal_(0.0, std, generator=generator)\n",
             "    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)\n"
             "    with torch.no_grad():\n        tensor.copy_(z * std)\n    return tensor\n"),),
           breaks=(), keeps=(KN,),
           why="honest: standard normal draws scaled by the std, copied in"),
    Mutant("honest_layer_norms_backward", "layer_grad_norms",
           (("    loss = loss_fn(model(x), y)\n    grads = torch.autograd.grad(loss, weights)\n",
             "    model.zero_grad()\n    loss_fn(model(x), y).backward()\n    grads = [w.grad for w in weights]\n"),),
           breaks=(), keeps=(NORMS,),
           why="honest: zero_grad, backward, then read .grad"),
    Mutant("honest_clip_by_powers", "clip_grad_norm_",
           (("""    norms = torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for g in grads])
    total = torch.linalg.vector_norm(norms, norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g.detach().mul_(coef.to(g.dtype))
""", """    if norm_type == math.inf:
        total = max(g.abs().max() for g in grads)
    else:
        total = sum((g.abs() ** norm_type).sum() for g in grads) ** (1.0 / norm_type)
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g.mul_(scale)
"""),),
           breaks=(), keeps=(CLIP, CLIP_CONTRACT),
           why="honest: sums of powers and a Python max, scaled when the total exceeds max_norm"),
]
MUTANTS += [
    Mutant("honest_gain_table", "calculate_gain",
           (("""    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
""", """    table = {"sigmoid": 1, "tanh": 5 / 3, "relu": 2 ** 0.5, "selu": 0.75}
    table.update({name: 1 for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                       "conv_transpose2d", "conv_transpose3d")})
    if nonlinearity in table:
        return table[nonlinearity]
"""),),
           breaks=(), keeps=(GAIN,),
           why="honest: a lookup table, ints where the gain is 1"),
    Mutant("honest_kaiming_uniform_bound_first", "kaiming_uniform_",
           (("""    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
""", """    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
"""),),
           breaks=(), keeps=(KU,),
           why="honest: the bound in one formula, sqrt(3 / fan) times the gain"),
]
