from medgrade.mutants import Mutant

TRAIN = "batchnorm_forward_train"
RUNNING = "batchnorm_forward_running_stats"
EVAL = "batchnorm_forward_eval"
BACKWARD = "batchnorm_backward_correct"
LAYERNORM = "layernorm_forward_correct"

MUTANTS = [
    # ---------------------------------------------------------------- batchnorm_forward
    Mutant("eps_outside_sqrt", "batchnorm_forward",
           (("torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)"),),
           breaks=(TRAIN, EVAL),
           why="divides by sqrt(var) + eps instead of sqrt(var + eps)"),
    Mutant("running_var_population_variance", "batchnorm_forward",
           (("momentum * unbiased.reshape(-1)", "momentum * var.reshape(-1)"),),
           breaks=(RUNNING,), keeps=(TRAIN, EVAL),
           why="puts the biased batch variance (divide by m) into the running estimate"),
    Mutant("momentum_keras_convention", "batchnorm_forward",
           (("(1 - momentum) * running_mean + momentum * mean.reshape(-1)",
             "momentum * running_mean + (1 - momentum) * mean.reshape(-1)"),
            ("(1 - momentum) * running_var + momentum * unbiased.reshape(-1)",
             "momentum * running_var + (1 - momentum) * unbiased.reshape(-1)")),
           breaks=(RUNNING,), keeps=(TRAIN, EVAL),
           why="momentum weighs the old running value (Keras) instead of the batch statistic (PyTorch)"),
    Mutant("reduces_over_batch_only", "batchnorm_forward",
           (("dims = [0] if x.dim() == 2 else [0, 2, 3]", "dims = [0]"),),
           breaks=(TRAIN, RUNNING),
           why="for (N, C, H, W) takes one mean and variance per pixel position (over N only)"),
    Mutant("eval_uses_batch_statistics", "batchnorm_forward",
           (("        mean = running_mean.reshape(shape)\n        var = running_var.reshape(shape)\n",
             "        mean = x.mean(dim=dims, keepdim=True)\n"
             "        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)\n"),),
           breaks=(EVAL,), keeps=(TRAIN, RUNNING),
           why="eval mode still normalizes with the statistics of the batch"),
    Mutant("eval_updates_running_statistics", "batchnorm_forward",
           (("new_mean, new_var = running_mean.clone(), running_var.clone()",
             "new_mean = (1 - momentum) * running_mean + momentum * x.mean(dim=dims)\n"
             "        new_var = running_var.clone()"),),
           breaks=(EVAL,), keeps=(TRAIN, RUNNING),
           why="keeps updating the running mean in eval mode"),
    Mutant("unbiased_variance_for_normalization", "batchnorm_forward",
           (("var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)",
             "var = x.var(dim=dims, keepdim=True)"),),
           breaks=(TRAIN,),
           why="normalizes with the unbiased variance (divide by m - 1)"),
    Mutant("variance_by_moments", "batchnorm_forward",
           (("var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)",
             "var = (x * x).mean(dim=dims, keepdim=True) - mean ** 2"),),
           breaks=(TRAIN,),
           why="E[x^2] - E[x]^2 cancels catastrophically in float32 when the mean is large"),
    Mutant("running_statistics_updated_in_place", "batchnorm_forward",
           (("new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(-1)\n"
             "        new_var = (1 - momentum) * running_var + momentum * unbiased.reshape(-1)",
             "new_mean = running_mean.mul_(1 - momentum).add_(momentum * mean.reshape(-1))\n"
             "        new_var = running_var.mul_(1 - momentum).add_(momentum * unbiased.reshape(-1))"),),
           breaks=(TRAIN, RUNNING),
           why="updates the running buffers in place, as nn.BatchNorm does, instead of returning new tensors"),
    # ---------------------------------------------------------------- batchnorm_backward
    Mutant("backward_without_mean_terms", "batchnorm_backward",
           (("dx = inv_std * (dx_hat\n"
             "                    - dx_hat.mean(dim=dims, keepdim=True)\n"
             "                    - x_hat * (dx_hat * x_hat).mean(dim=dims, keepdim=True))",
             "dx = inv_std * dx_hat"),),
           breaks=(BACKWARD,),
           why="treats mean and variance as constants: dx = gamma * dout / sqrt(var + eps)"),
    Mutant("backward_without_variance_term", "batchnorm_backward",
           (("\n                    - x_hat * (dx_hat * x_hat).mean(dim=dims, keepdim=True)", ""),),
           breaks=(BACKWARD,),
           why="forgets the path through the variance (the component along x_hat)"),
    Mutant("backward_without_mean_of_dx", "batchnorm_backward",
           (("\n                    - dx_hat.mean(dim=dims, keepdim=True)", ""),),
           breaks=(BACKWARD,),
           why="forgets the path through the mean: dx no longer sums to zero per channel"),
    Mutant("backward_dgamma_from_x", "batchnorm_backward",
           (("dgamma = (dout * x_hat).sum(dim=dims)", "dgamma = (dout * x).sum(dim=dims)"),),
           breaks=(BACKWARD,),
           why="dgamma uses x instead of x_hat"),
    Mutant("backward_reduces_over_batch_only", "batchnorm_backward",
           (("dims = [0] if x.dim() == 2 else [0, 2, 3]", "dims = [0]"),),
           breaks=(BACKWARD,),
           why="for (N, C, H, W) recomputes per-pixel statistics and sums over N only"),
    # ---------------------------------------------------------------- layernorm_forward
    Mutant("layernorm_last_dim_only", "layernorm_forward",
           (("dims = list(range(x.dim() - len(normalized_shape), x.dim()))", "dims = [-1]"),),
           breaks=(LAYERNORM,),
           why="normalizes over the last dim whatever normalized_shape says"),
    Mutant("layernorm_over_leading_dims", "layernorm_forward",
           (("dims = list(range(x.dim() - len(normalized_shape), x.dim()))",
             "dims = list(range(len(normalized_shape)))"),),
           breaks=(LAYERNORM,),
           why="reduces over the first dims (the batch) instead of the trailing ones"),
    Mutant("layernorm_unbiased_variance", "layernorm_forward",
           (("var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)",
             "var = x.var(dim=dims, keepdim=True)"),),
           breaks=(LAYERNORM,),
           why="normalizes with the unbiased variance"),
    Mutant("layernorm_eps_outside_sqrt", "layernorm_forward",
           (("torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)"),),
           breaks=(LAYERNORM,),
           why="divides by sqrt(var) + eps"),
    Mutant("layernorm_int_shape_rejected", "layernorm_forward",
           (("    if isinstance(normalized_shape, int):\n        normalized_shape = (normalized_shape,)\n", ""),),
           breaks=(LAYERNORM,),
           why="accepts normalized_shape only as a sequence, not as an int"),
]

# Contracts the docstrings state: eval mode with one value per channel, float32 accuracy of the
# backward pass and of layer norm when the mean is large next to the spread.
MUTANTS += [
    Mutant("eval_computes_batch_statistics_first", "batchnorm_forward",
           (("""    if training:
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)      # biased: divide by m
        m = x.numel() // x.shape[1]                                # values per channel, N*H*W
        unbiased = var * m / (m - 1)
""", """    m = x.numel() // x.shape[1]
    correction = m / (m - 1)
    if training:
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        unbiased = var * correction
"""),),
           breaks=(EVAL,), keeps=(TRAIN, RUNNING),
           why="computes the unbiased correction m / (m - 1) in both modes: a batch of one value per channel "
               "divides by zero in eval mode"),
    Mutant("backward_variance_by_moments", "batchnorm_backward",
           (("var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)",
             "var = (x * x).mean(dim=dims, keepdim=True) - mean ** 2"),),
           breaks=(BACKWARD,),
           why="E[x^2] - E[x]^2 in the backward pass: wrong in float32 when the mean is large next to the spread"),
    Mutant("layernorm_variance_by_moments", "layernorm_forward",
           (("var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)",
             "var = (x * x).mean(dim=dims, keepdim=True) - mean ** 2"),),
           breaks=(LAYERNORM,),
           why="E[x^2] - E[x]^2: wrong in float32 when a sample's mean is large next to its spread"),
]

# the demo's buggy student (cyd_buggy) makes these mistakes
DEMO = ("running_var_population_variance", "backward_without_mean_of_dx")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_var_mean", "batchnorm_forward",
           (("""        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)      # biased: divide by m""",
             """        var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)"""),
            ("""    x_hat = (x - mean) / torch.sqrt(var + eps)""", """    x_hat = (x - mean) * torch.rsqrt(var + eps)"""),),
           breaks=(), keeps=("batchnorm_forward_train", "batchnorm_forward_running_stats", "batchnorm_forward_eval"),
           why="torch.var_mean and rsqrt instead of two means and a division"),
]
