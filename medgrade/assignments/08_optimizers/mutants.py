"""Known-wrong answers of 08_optimizers (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`): the classic mistakes of each update rule, and the
ways of getting a None gradient wrong."""
from medgrade.mutants import Mutant

TASKS = ("sgd_step", "adagrad_step", "adadelta_step", "rmsprop_step", "adam_step", "adamw_step")


def M(task):
    return f"{task}_matches_torch"


def N(task):
    return f"{task}_none_grads"


_SKIP = "if g is None:\n                continue"

MUTANTS = []

# ---------------------------------------------------------------- None gradients, every optimizer
for _task in TASKS:
    MUTANTS += [
        Mutant(f"{_task}_none_as_zero", _task,
               ((_SKIP, "if g is None:\n                g = torch.zeros_like(p)"),),
               breaks=(N(_task),), keeps=(M(_task),),
               why="treats a None gradient as zeros: moving averages decay, step counts advance, decay applies"),
        Mutant(f"{_task}_state_for_every_parameter", _task,
               ((_SKIP, "state.setdefault(i, {})\n            " + _SKIP),),
               breaks=(N(_task),), keeps=(M(_task),),
               why="makes state[i] for every parameter, those that have never had a gradient included"),
    ]

MUTANTS += [
    # ---------------------------------------------------------------- SGD
    Mutant("sgd_step_nesterov_as_plain_momentum", "sgd_step",
           (("d_p = d_p + momentum * buf if nesterov else buf", "d_p = buf"),),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="ignores nesterov: steps with the buffer instead of g + momentum * buffer"),
    Mutant("sgd_step_dampening_on_first_step", "sgd_step",
           (('s["momentum_buffer"] = d_p.clone()', 's["momentum_buffer"] = (1 - dampening) * d_p'),),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="dampens the gradient at the first step too (torch copies it into the buffer as it is)"),
    Mutant("sgd_step_weight_decay_into_grad_in_place", "sgd_step",
           (("d_p = g + weight_decay * p if", "d_p = g.add_(weight_decay * p) if"),),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="adds the weight decay to the gradient tensor in place: the caller's gradients change"),
    # ---------------------------------------------------------------- Adagrad
    Mutant("adagrad_step_eps_inside_sqrt", "adagrad_step",
           (('(s["sum"].sqrt() + eps)', '(s["sum"] + eps).sqrt()'),),
           breaks=(M("adagrad_step"),), keeps=(N("adagrad_step"),),
           why="adds eps inside the square root (torch adds it after)"),
    Mutant("adagrad_step_lr_decay_from_the_first_step", "adagrad_step",
           (('(s["step"] - 1) * lr_decay', 's["step"] * lr_decay'),),
           breaks=(M("adagrad_step"),), keeps=(N("adagrad_step"),),
           why="decays the learning rate already at the first step: lr / (1 + t * lr_decay)"),
    Mutant("adagrad_step_ignores_initial_accumulator_value", "adagrad_step",
           (("torch.full_like(p, initial_accumulator_value)", "torch.zeros_like(p)"),),
           breaks=(M("adagrad_step"),), keeps=(N("adagrad_step"),),
           why="starts the sum of squared gradients at 0 whatever initial_accumulator_value says"),
    Mutant("adagrad_step_one_step_count", "adagrad_step",
           (('clr = lr / (1 + (s["step"] - 1) * lr_decay)',
             'clr = lr / (1 + (max(v["step"] for v in state.values()) - 1) * lr_decay)'),),
           breaks=(N("adagrad_step"),), keeps=(M("adagrad_step"),),
           why="decays the learning rate with one step count for all parameters (the largest), not each one's own"),
    # ---------------------------------------------------------------- Adadelta
    Mutant("adadelta_step_new_accumulated_delta", "adadelta_step",
           (("p.sub_(lr * delta)",
             'p.sub_(lr * torch.sqrt(s["acc_delta"] + eps) / torch.sqrt(s["square_avg"] + eps) * g)'),),
           breaks=(M("adadelta_step"),), keeps=(N("adadelta_step"),),
           why="steps with the accumulated squared update after this step's update of it, not before"),
    Mutant("adadelta_step_eps_outside_sqrt", "adadelta_step",
           (('torch.sqrt(s["acc_delta"] + eps) / torch.sqrt(s["square_avg"] + eps)',
             '(torch.sqrt(s["acc_delta"]) + eps) / (torch.sqrt(s["square_avg"]) + eps)'),),
           breaks=(M("adadelta_step"),), keeps=(N("adadelta_step"),),
           why="adds eps after the square roots: the first step is about eps instead of sqrt(eps)"),
    Mutant("adadelta_step_ignores_lr", "adadelta_step",
           (("p.sub_(lr * delta)", "p.sub_(delta)"),),
           breaks=(M("adadelta_step"),), keeps=(N("adadelta_step"),),
           why="the paper's Adadelta has no learning rate; torch's scales the update by lr"),
    # ---------------------------------------------------------------- RMSprop
    Mutant("rmsprop_step_centered_without_mean", "rmsprop_step",
           (('torch.sqrt(s["square_avg"] - s["grad_avg"] ** 2) + eps', 'torch.sqrt(s["square_avg"]) + eps'),),
           breaks=(M("rmsprop_step"),), keeps=(N("rmsprop_step"),),
           why="centered keeps the average gradient but never subtracts its square"),
    Mutant("rmsprop_step_eps_inside_sqrt", "rmsprop_step",
           (('avg = torch.sqrt(s["square_avg"]) + eps', 'avg = torch.sqrt(s["square_avg"] + eps)'),),
           breaks=(M("rmsprop_step"),), keeps=(N("rmsprop_step"),),
           why="adds eps inside the square root (the TensorFlow convention; torch adds it after)"),
    Mutant("rmsprop_step_alpha_the_other_way_round", "rmsprop_step",
           (('alpha * s["square_avg"] + (1 - alpha) * g * g', '(1 - alpha) * s["square_avg"] + alpha * g * g'),),
           breaks=(M("rmsprop_step"),), keeps=(N("rmsprop_step"),),
           why="alpha weighs the new squared gradient instead of the old average"),
    # ---------------------------------------------------------------- Adam
    Mutant("adam_step_no_bias_correction", "adam_step",
           (('m_hat = s["exp_avg"] / (1 - beta1 ** t)\n            v_hat = v / (1 - beta2 ** t)',
             'm_hat = s["exp_avg"]\n            v_hat = v'),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="no bias correction: the first steps are far too small while the moments warm up from 0"),
    Mutant("adam_step_bias_correction_off_by_one", "adam_step",
           (("(1 - beta1 ** t)", "(1 - beta1 ** (t + 1))"), ("(1 - beta2 ** t)", "(1 - beta2 ** (t + 1))")),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="counts the step from 1 before incrementing it: 1 - beta ** (t + 1)"),
    Mutant("adam_step_amsgrad_max_of_corrected", "adam_step",
           (('v = s["exp_avg_sq"]\n', 'v = s["exp_avg_sq"] / (1 - beta2 ** t)\n'),
            ("v_hat = v / (1 - beta2 ** t)", "v_hat = v")),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="amsgrad keeps the maximum of the bias-corrected second moment instead of the raw one"),
    Mutant("adam_step_eps_inside_sqrt", "adam_step",
           (("(v_hat.sqrt() + eps)", "(v_hat + eps).sqrt()"),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="adds eps inside the square root"),
    Mutant("adam_step_one_step_count", "adam_step",
           (('t = s["step"]', 't = max(v["step"] for v in state.values())'),),
           breaks=(N("adam_step"),), keeps=(M("adam_step"),),
           why="bias-corrects every parameter with one step count (the largest), not each one's own"),
    # ---------------------------------------------------------------- AdamW
    Mutant("adamw_step_coupled_weight_decay", "adamw_step",
           (("p.mul_(1 - lr * weight_decay)", "g = g + weight_decay * p"),),
           breaks=(M("adamw_step"),), keeps=(N("adamw_step"),),
           why="adds the weight decay to the gradient (Adam's L2) instead of decaying the weights"),
    Mutant("adamw_step_decay_without_lr", "adamw_step",
           (("p.mul_(1 - lr * weight_decay)", "p.mul_(1 - weight_decay)"),),
           breaks=(M("adamw_step"),), keeps=(N("adamw_step"),),
           why="decays by weight_decay instead of lr * weight_decay"),
    Mutant("adamw_step_decay_after_the_update", "adamw_step",
           (("            p.mul_(1 - lr * weight_decay)                # decoupled: shrink the weights, not the gradient\n", ""),
            ("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))",
             "p.sub_(lr * m_hat / (v_hat.sqrt() + eps))\n            p.mul_(1 - lr * weight_decay)")),
           breaks=(M("adamw_step"),), keeps=(N("adamw_step"),),
           why="decays the weights after the Adam step instead of before it"),
]

# ---------------------------------------------------------------- shortcuts that hold only for |g| <= 1
# (the gradients of a case reach 4 in size: grad_scale in inputs.step_cases and a pinned example per task)
MUTANTS += [
    Mutant("sgd_step_clips_the_gradient", "sgd_step",
           (("d_p = g + weight_decay * p if", "g = g.clamp(-1.0, 1.0)\n            d_p = g + weight_decay * p if"),),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="clips the gradient to [-1, 1] \"for stability\": torch.optim.SGD does not clip"),
    Mutant("adam_step_clips_the_gradient", "adam_step",
           (("            if weight_decay != 0:\n                g = g + weight_decay * p                 # L2",
             "            g = g.clamp(-1.0, 1.0)\n            if weight_decay != 0:\n"
             "                g = g + weight_decay * p                 # L2"),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="clips the gradient to [-1, 1] before the moments: torch.optim.Adam does not clip"),
    Mutant("rmsprop_step_centered_mean_square_saturated", "rmsprop_step",
           (('s["square_avg"] - s["grad_avg"] ** 2', 's["square_avg"] - s["grad_avg"].abs() * s["grad_avg"].abs().clamp(max=1)'),),
           breaks=(M("rmsprop_step"),), keeps=(N("rmsprop_step"),),
           why="subtracts |E[g]| * min(|E[g]|, 1) instead of E[g]^2: right only while |E[g]| <= 1"),
    # caught before as well, kept so that they stay caught
    Mutant("adam_step_skips_zero_gradients", "adam_step",
           (("if g is None:\n                continue\n            s = state.setdefault(i, {})\n            if not s:\n"
             "                s[\"step\"] = 0\n                s[\"exp_avg\"]",
             "if g is None or not bool(g.any()):\n                continue\n            s = state.setdefault(i, {})\n"
             "            if not s:\n                s[\"step\"] = 0\n                s[\"exp_avg\"]"),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="skips an all-zero gradient like a None one: torch still takes the step (moments decay, t advances)"),
    Mutant("adagrad_step_float32_sum_in_place", "adagrad_step",
           (('s["sum"] = torch.full_like(p, initial_accumulator_value)', 's["sum"] = torch.full(p.shape, initial_accumulator_value)'),
            ('s["sum"] = s["sum"] + g * g', 's["sum"].add_(g * g)')),
           breaks=(M("adagrad_step"),), keeps=(N("adagrad_step"),),
           why="keeps the sum of squares in float32 (torch.full's default dtype) for a float64 parameter"),
    Mutant("adam_step_amsgrad_previous_maximum", "adam_step",
           (('                s["max_exp_avg_sq"] = torch.maximum(s["max_exp_avg_sq"], v)\n                v = s["max_exp_avg_sq"]\n',
             '                v = torch.maximum(s["max_exp_avg_sq"], v)\n                s["max_exp_avg_sq"] = s["exp_avg_sq"]\n'),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="amsgrad keeps the last second moment instead of the running maximum of all of them"),
]

# ---------------------------------------------------------------- state that holds a hyper-parameter: the same steps
# while it is constant, other ones once a scheduler changes lr between calls (lr_gamma in the cases)
MUTANTS += [
    Mutant("sgd_step_lr_in_the_buffer", "sgd_step",
           (('s["momentum_buffer"] = d_p.clone()', 's["momentum_buffer"] = lr * d_p'),
            ('s["momentum_buffer"] = momentum * s["momentum_buffer"] + (1 - dampening) * d_p',
             's["momentum_buffer"] = momentum * s["momentum_buffer"] + (1 - dampening) * lr * d_p'),
            ("d_p = d_p + momentum * buf if nesterov else buf", "d_p = lr * d_p + momentum * buf if nesterov else buf"),
            ("p.sub_(lr * d_p)", "p.sub_(d_p if momentum != 0 else lr * d_p)")),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="the textbook form of momentum (Sutskever et al.): b = mu * b + lr * g, w -= b; torch's keeps lr "
               "out of the buffer, and the two part once the learning rate changes"),
    Mutant("rmsprop_step_lr_in_the_momentum_buffer", "rmsprop_step",
           (('s["momentum_buffer"] = momentum * s["momentum_buffer"] + g / avg\n                p.sub_(lr * s["momentum_buffer"])',
             's["momentum_buffer"] = momentum * s["momentum_buffer"] + lr * g / avg\n                p.sub_(s["momentum_buffer"])'),),
           breaks=(M("rmsprop_step"),), keeps=(N("rmsprop_step"),),
           why="folds lr into the momentum buffer (TensorFlow's RMSprop does): right only while lr is constant"),
    Mutant("adam_step_lr_kept_from_the_first_step", "adam_step",
           (('                s["step"] = 0\n', '                s["step"] = 0\n                s["lr"] = lr\n'),
            ("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))", 'p.sub_(s["lr"] * m_hat / (v_hat.sqrt() + eps))')),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="keeps the learning rate of the first step in state: a scheduler's later rates are ignored"),
    Mutant("adagrad_step_lr_kept_from_the_first_step", "adagrad_step",
           (('clr = lr / (1 + (s["step"] - 1) * lr_decay)',
             'clr = s.setdefault("lr", lr) / (1 + (s["step"] - 1) * lr_decay)'),),
           breaks=(M("adagrad_step"),), keeps=(N("adagrad_step"),),
           why="keeps the learning rate of the first step in state: a scheduler's later rates are ignored"),
]

# the library itself, however it is reached: refused, so every aspect of the task is lost
MUTANTS += [
    Mutant("sgd_step_calls_torch_functional", "sgd_step",
           (("p.sub_(lr * d_p)",
             "torch.optim._functional.sgd([p], [d_p], [None], weight_decay=0.0, momentum=0.0, lr=lr,\n"
             "                                         dampening=0.0, nesterov=False, maximize=False)"),),
           breaks=(M("sgd_step"), N("sgd_step")),
           why="lets torch.optim's functional SGD apply the update"),
    Mutant("adam_step_calls_foreach", "adam_step",
           (("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))", "torch._foreach_sub_([p], [lr * m_hat / (v_hat.sqrt() + eps)])"),),
           breaks=(M("adam_step"), N("adam_step")),
           why="applies the update with torch._foreach_sub_, one of torch.optim's multi-tensor kernels"),
]

# the demo's buggy student makes these mistakes: each costs one task's values, the rest keeps its points
DEMO = ("sgd_step_nesterov_as_plain_momentum", "adam_step_no_bias_correction")

# ---------------------------------------------------------------- honest alternatives
MUTANTS += [
    Mutant("sgd_step_honest_in_place_buffer", "sgd_step",
           (('s["momentum_buffer"] = momentum * s["momentum_buffer"] + (1 - dampening) * d_p',
             's["momentum_buffer"].mul_(momentum).add_(d_p, alpha=1 - dampening)'),
            ("d_p = d_p + momentum * buf if nesterov else buf", "d_p = d_p.add(buf, alpha=momentum) if nesterov else buf"),
            ("p.sub_(lr * d_p)", "p.add_(d_p, alpha=-lr)")),
           breaks=(), keeps=(M("sgd_step"), N("sgd_step")),
           why="honest: torch's own in-place style (mul_, add_ with alpha)"),
    Mutant("adam_step_honest_torch_style", "adam_step",
           (('m_hat = s["exp_avg"] / (1 - beta1 ** t)\n            v_hat = v / (1 - beta2 ** t)\n'
             '            p.sub_(lr * m_hat / (v_hat.sqrt() + eps))',
             'denom = (v.sqrt() / (1 - beta2 ** t) ** 0.5).add_(eps)\n'
             '            p.addcdiv_(s["exp_avg"], denom, value=-lr / (1 - beta1 ** t))'),),
           breaks=(), keeps=(M("adam_step"), N("adam_step")),
           why="honest: bias corrections folded into the step size and the denominator, addcdiv_"),
    Mutant("rmsprop_step_honest_addcmul", "rmsprop_step",
           (('s["square_avg"] = alpha * s["square_avg"] + (1 - alpha) * g * g',
             's["square_avg"].mul_(alpha).addcmul_(g, g, value=1 - alpha)'),
            ('avg = torch.sqrt(s["square_avg"] - s["grad_avg"] ** 2) + eps',
             'avg = s["square_avg"].addcmul(s["grad_avg"], s["grad_avg"], value=-1).sqrt_().add_(eps)')),
           breaks=(), keeps=(M("rmsprop_step"), N("rmsprop_step")),
           why="honest: in-place moving averages with addcmul_"),
    Mutant("adagrad_step_honest_float64_math", "adagrad_step",
           (('p.sub_(clr * g / (s["sum"].sqrt() + eps))',
             'p.copy_(p.double() - clr * g.double() / (s["sum"].double().sqrt() + eps))'),),
           breaks=(), keeps=(M("adagrad_step"), N("adagrad_step")),
           why="honest: computes the update in float64 and writes it back in the parameter's dtype"),
    Mutant("adadelta_step_honest_in_place", "adadelta_step",
           (('s["square_avg"] = rho * s["square_avg"] + (1 - rho) * g * g',
             's["square_avg"].mul_(rho).addcmul_(g, g, value=1 - rho)'),
            ('s["acc_delta"] = rho * s["acc_delta"] + (1 - rho) * delta * delta',
             's["acc_delta"].mul_(rho).addcmul_(delta, delta, value=1 - rho)'),
            ("p.sub_(lr * delta)", "p.add_(delta, alpha=-lr)")),
           breaks=(), keeps=(M("adadelta_step"), N("adadelta_step")),
           why="honest: in-place moving averages with addcmul_, the update with add_(alpha=-lr)"),
    Mutant("adamw_step_honest_decay_by_subtraction", "adamw_step",
           (("p.mul_(1 - lr * weight_decay)", "p.sub_(lr * weight_decay * p)"),
            ("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))", "p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)")),
           breaks=(), keeps=(M("adamw_step"), N("adamw_step")),
           why="honest: the decay subtracted as lr * weight_decay * p, the step with addcdiv_"),
]

# ---------------------------------------------------------------- not in place: the values are right, the
# tensors are new (a model's parameters would never change); the other aspects compare values only
MUTANTS += [
    Mutant("sgd_step_rebinds_params", "sgd_step",
           (("p.sub_(lr * d_p)", "params[i] = p - lr * d_p"),),
           breaks=(M("sgd_step"),), keeps=(N("sgd_step"),),
           why="puts a new tensor into the list (params[i] = p - lr * d_p): the caller's tensors never change"),
    Mutant("adam_step_rebinds_params", "adam_step",
           (("p.sub_(lr * m_hat / (v_hat.sqrt() + eps))",
             "params[i] = p.addcdiv(m_hat, v_hat.sqrt() + eps, value=-lr)"),),
           breaks=(M("adam_step"),), keeps=(N("adam_step"),),
           why="addcdiv without the underscore, its result put into the list: the caller's tensors never change"),
    Mutant("adamw_step_decay_out_of_place", "adamw_step",
           (("p.mul_(1 - lr * weight_decay)", "p = params[i] = p * (1 - lr * weight_decay)"),),
           breaks=(M("adamw_step"),), keeps=(N("adamw_step"),),
           why="decays the weights out of place into a new tensor that the list then holds; the Adam step "
               "lands in place on that new tensor, the caller's own one never changes"),
]
