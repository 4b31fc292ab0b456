"""Known-wrong answers of 07_overfitting (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

STATS = "dropout_statistics"
CONTRACT = "dropout_contract"
L2 = "l2_penalty_matches_weight_decay"
ADAM = "adam_l2_vs_adamw_correct"
STOPS = "early_stopping_stops"
RESTORES = "early_stopping_restores"
AUG = "augment_one_correct"
COMPOSE = "augment_compose"

_WHERE = "return torch.where(keep, x / (1.0 - p), torch.zeros_like(x))"
_DECAY = ("            if decoupled:\n                p = p * (1 - lr * weight_decay)\n"
          "            else:\n                g = g + weight_decay * p\n")
_IMPROVE = ("            self.best_loss, self.best_epoch = val_loss, self.epoch\n"
            "            self.best_state = copy.deepcopy(model.state_dict())\n"
            "            self.bad_epochs = 0\n")
_CROP = ("        out = torch.stack([(x1 - left).clamp(0, width), (y1 - top).clamp(0, height),\n"
         "                           (x2 - left).clamp(0, width), (y2 - top).clamp(0, height)], dim=-1)")

MUTANTS = [
    # ---------------------------------------------------------------- dropout
    Mutant("dropout_without_rescaling", "dropout",
           ((_WHERE, "return torch.where(keep, x, torch.zeros_like(x))"),),
           breaks=(STATS,), keeps=(CONTRACT,),
           why="drops without scaling the kept values by 1 / (1 - p): E[dropout(x)] = (1 - p) x"),
    Mutant("dropout_keeps_with_probability_p", "dropout",
           ((") >= p", ") < p"),),
           breaks=(STATS,), keeps=(CONTRACT,),
           why="keeps an element with probability p instead of 1 - p"),
    Mutant("dropout_mask_shared_across_rows", "dropout",
           (("torch.rand(x.shape, generator", "torch.rand(x.shape[-1:], generator"),),
           breaks=(STATS,),
           why="draws one mask for the last dimension and broadcasts it: whole columns are dropped together"),
    Mutant("dropout_scales_at_eval", "dropout",
           (("    if not training or p == 0.0:\n        return x.clone()\n",
             "    if not training:\n        return x * (1 - p)\n    if p == 0.0:\n        return x.clone()\n"),),
           breaks=(CONTRACT,), keeps=(STATS,),
           why="mixes the two conventions: scales the kept values in training and scales by 1 - p at inference"),
    Mutant("dropout_p1_divides_by_zero", "dropout",
           (("    if p == 1.0:\n        return torch.zeros_like(x)\n", ""),
            (_WHERE, "return x * keep / (1.0 - p)")),
           breaks=(CONTRACT,), keeps=(STATS,),
           why="x * mask / (1 - p) with p = 1: 0 / 0 gives NaN"),
    Mutant("dropout_ignores_generator", "dropout",
           (("generator=generator, ", ""),),
           breaks=(CONTRACT,), keeps=(STATS,),
           why="draws the mask from the global generator: the generator given does not fix the output"),
    Mutant("dropout_in_place", "dropout",
           ((_WHERE, "return x.mul_(keep.to(x.dtype)).div_(1.0 - p)"),),
           breaks=(STATS, CONTRACT),
           why="drops in place: the caller's activations are changed"),
    Mutant("dropout_calls_the_library", "dropout",
           (("    if not training or p == 0.0:\n", "    return F.dropout(x, p, training)\n    if not training or p == 0.0:\n"),),
           breaks=(STATS, CONTRACT),
           why="calls F.dropout, the function the exercise asks to write"),
    # ---------------------------------------------------------------- l2_penalty
    Mutant("l2_penalty_without_half", "l2_penalty",
           (("return 0.5 * weight_decay * total", "return weight_decay * total"),),
           breaks=(L2,),
           why="λ·Σ||w||² without the 1/2: its gradient 2λw is twice SGD's weight_decay term"),
    Mutant("l2_penalty_detached", "l2_penalty",
           (("term = (w * w).sum()", "term = (w.detach() ** 2).sum()"),),
           breaks=(L2,),
           why="detaches the weights: the right value with no gradient, so the penalty does nothing"),
    Mutant("l2_penalty_norm_not_squared", "l2_penalty",
           (("term = (w * w).sum()", "term = w.norm()"),),
           breaks=(L2,),
           why="sums the norms instead of the squared norms"),
    # ---------------------------------------------------------------- adam_l2_vs_adamw
    Mutant("adam_l2_vs_adamw_decays_after_the_step", "adam_l2_vs_adamw",
           ((_DECAY, "            if not decoupled:\n                g = g + weight_decay * p\n"),
            ("            p = p - lr * m_hat / (v_hat.sqrt() + eps)\n",
             "            p = p - lr * m_hat / (v_hat.sqrt() + eps)\n"
             "            if decoupled:\n                p = p * (1 - lr * weight_decay)\n")),
           breaks=(ADAM,),
           why="decays the weights after the Adam step instead of before it (torch decays first)"),
    Mutant("adam_l2_vs_adamw_coupled_twice", "adam_l2_vs_adamw",
           (("p = p * (1 - lr * weight_decay)", "g = g + weight_decay * p"),),
           breaks=(ADAM,),
           why="AdamW with the decay in the gradient: the same as Adam + L2"),
    Mutant("adam_l2_vs_adamw_without_bias_correction", "adam_l2_vs_adamw",
           (("m_hat = m / (1 - beta1 ** t)", "m_hat = m"), ("v_hat = v / (1 - beta2 ** t)", "v_hat = v")),
           breaks=(ADAM,),
           why="forgets the bias correction of the moment estimates"),
    Mutant("adam_l2_vs_adamw_decay_without_lr", "adam_l2_vs_adamw",
           (("p = p * (1 - lr * weight_decay)", "p = p * (1 - weight_decay)"),),
           breaks=(ADAM,),
           why="decays by 1 - λ instead of 1 - lr·λ"),
    Mutant("adam_l2_vs_adamw_calls_torch", "adam_l2_vs_adamw",
           (("    beta1, beta2 = betas\n",
             "    out = []\n"
             "    for kind in (torch.optim.Adam, torch.optim.AdamW):\n"
             "        q = w.clone().requires_grad_(True)\n"
             "        opt = kind([q], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)\n"
             "        for g in grads:\n"
             "            q.grad = g.clone()\n"
             "            opt.step()\n"
             "        out.append(q.detach())\n"
             "    return tuple(out)\n"
             "    beta1, beta2 = betas\n"),),
           breaks=(ADAM,),
           why="runs torch.optim.Adam and AdamW, the optimizers the exercise asks to write"),
    # ---------------------------------------------------------------- EarlyStopping
    Mutant("early_stopping_min_delta_inclusive", "EarlyStopping",
           (("if self.best_loss - val_loss > self.min_delta:", "if self.best_loss - val_loss >= self.min_delta:"),),
           breaks=(STOPS,), keeps=(RESTORES,),
           why="counts a decrease of exactly min_delta (or no change with min_delta = 0) as an improvement"),
    Mutant("early_stopping_patience_off_by_one", "EarlyStopping",
           (("if self.bad_epochs >= self.patience:", "if self.bad_epochs > self.patience:"),),
           breaks=(STOPS,), keeps=(RESTORES,),
           why="waits patience + 1 epochs without improvement"),
    Mutant("early_stopping_ignores_nan", "EarlyStopping",
           (("        if math.isnan(val_loss) or math.isinf(val_loss):\n"
             "            self._restore(model)\n            return True\n", ""),),
           breaks=(STOPS,), keeps=(RESTORES,),
           why="a NaN loss is just an epoch without improvement: training goes on after it diverged"),
    Mutant("early_stopping_counter_not_reset", "EarlyStopping",
           ((_IMPROVE, _IMPROVE.replace("            self.bad_epochs = 0\n", "")),),
           breaks=(STOPS,), keeps=(RESTORES,),
           why="counts all epochs without improvement, not the consecutive ones"),
    Mutant("early_stopping_shallow_copy", "EarlyStopping",
           (("self.best_state = copy.deepcopy(model.state_dict())", "self.best_state = model.state_dict()"),),
           breaks=(RESTORES,), keeps=(STOPS,),
           why="keeps model.state_dict() itself: references to the live weights, which training changes"),
    Mutant("early_stopping_dict_copy", "EarlyStopping",
           (("self.best_state = copy.deepcopy(model.state_dict())", "self.best_state = dict(model.state_dict())"),),
           breaks=(RESTORES,), keeps=(STOPS,),
           why="copies the dictionary, not the tensors in it"),
    Mutant("early_stopping_keeps_last_weights", "EarlyStopping",
           (("            model.load_state_dict(self.best_state)", "            pass"),),
           breaks=(RESTORES,), keeps=(STOPS,),
           why="stops but leaves the last epoch's weights in the model"),
    # ---------------------------------------------------------------- augment_one
    Mutant("augment_hflip_boxes_not_moved", "augment_one",
           (("torch.stack([w - x2, y1, w - x1, y2], dim=-1)", "boxes.clone()"),),
           breaks=(AUG,), keeps=(COMPOSE,),
           why="flips the image and the mask but not the boxes"),
    Mutant("augment_hflip_pixel_centres", "augment_one",
           (("torch.stack([w - x2, y1, w - x1, y2], dim=-1)", "torch.stack([w - 1 - x2, y1, w - 1 - x1, y2], dim=-1)"),),
           breaks=(AUG,),
           why="mirrors pixel-edge boxes with the pixel-centre formula w - 1 - x: off by one"),
    Mutant("augment_vflip_mask_not_flipped", "augment_one",
           (("mask.flip(-2)", "mask.clone()"),),
           breaks=(AUG,),
           why="flips the image and boxes top-bottom but not the mask"),
    Mutant("augment_rot90_boxes_clockwise", "augment_one",
           (("x1, y1, x2, y2 = y1, w - x2, y2, w - x1", "x1, y1, x2, y2 = h - y2, x1, h - y1, x2"),),
           breaks=(AUG,),
           why="turns the boxes clockwise while torch.rot90 turns the image counter-clockwise"),
    Mutant("augment_rot90_size_not_swapped", "augment_one",
           (("            h, w = w, h\n", ""),),
           breaks=(AUG,),
           why="forgets that a quarter turn swaps height and width: wrong boxes for k = 2, 3 on non-square images"),
    Mutant("augment_crop_keeps_empty_boxes", "augment_one",
           (("out[keep])", "out)"),),
           breaks=(AUG,),
           why="keeps the boxes that the crop left with no area"),
    Mutant("augment_crop_not_clipped", "augment_one",
           ((_CROP, "        out = torch.stack([x1 - left, y1 - top, x2 - left, y2 - top], dim=-1)"),),
           breaks=(AUG,),
           why="shifts the boxes but does not clip them to the crop"),
    # ---------------------------------------------------------------- augment
    Mutant("augment_in_reverse_order", "augment",
           (("for op in ops:", "for op in reversed(ops):"),),
           breaks=(COMPOSE,),
           why="applies the last op first"),
    Mutant("augment_boxes_not_carried", "augment",
           (("image, mask, boxes = augment_one(image, mask, boxes, op)",
             "image, mask, _ = augment_one(image, mask, boxes, op)"),),
           breaks=(COMPOSE,),
           why="moves the image and the mask through every op but returns the original boxes"),
]

# the mistakes of the demo's buggy student: each loses its aspect and keeps the rest
DEMO = ("dropout_without_rescaling", "early_stopping_keeps_last_weights")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_dropout_bernoulli", "dropout",
           (("    keep = torch.rand(x.shape, generator=generator, dtype=torch.float64) >= p\n"
             "    " + _WHERE,
             "    mask = torch.bernoulli(torch.full_like(x, 1.0 - p), generator=generator)\n"
             "    return x * mask * (1.0 / (1.0 - p))"),),
           breaks=(), keeps=(STATS, CONTRACT),
           why="honest: a Bernoulli mask of x's dtype, multiplied by the reciprocal of 1 - p"),
    Mutant("honest_l2_penalty_generator", "l2_penalty",
           (("""    total = None
    for w in params:
        term = (w * w).sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return 0.5 * weight_decay * total""",
             "    return weight_decay / 2 * sum(w.pow(2).sum() for w in params)"),),
           breaks=(), keeps=(L2,),
           why="honest: Python's sum over a generator, pow(2), λ/2 first"),
    Mutant("honest_adam_l2_vs_adamw_in_place", "adam_l2_vs_adamw",
           (("            m = beta1 * m + (1 - beta1) * g\n"
             "            v = beta2 * v + (1 - beta2) * g * g\n"
             "            m_hat = m / (1 - beta1 ** t)\n"
             "            v_hat = v / (1 - beta2 ** t)\n"
             "            p = p - lr * m_hat / (v_hat.sqrt() + eps)\n",
             "            m.mul_(beta1).add_(g, alpha=1 - beta1)\n"
             "            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)\n"
             "            denom = (v / (1 - beta2 ** t)).sqrt().add_(eps)\n"
             "            p = torch.addcdiv(p, m, denom, value=-lr / (1 - beta1 ** t))\n"),),
           breaks=(), keeps=(ADAM,),
           why="honest: in-place moment updates on its own buffers and addcdiv, as torch writes it"),
    Mutant("honest_early_stopping_clone_dict", "EarlyStopping",
           (("if self.best_loss - val_loss > self.min_delta:", "if val_loss < self.best_loss - self.min_delta:"),
            ("self.best_state = copy.deepcopy(model.state_dict())",
             "self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}")),
           breaks=(), keeps=(STOPS, RESTORES),
           why="honest: the comparison written the other way, a dictionary of cloned tensors"),
    Mutant("honest_augment_hflip_by_indexing", "augment_one",
           (("torch.stack([w - x2, y1, w - x1, y2], dim=-1)",
             "boxes[:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]) + torch.tensor([w, 0, w, 0])"),
            ("keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])",
             "keep = ((out[:, 2:] - out[:, :2]) > 0).all(dim=1)")),
           breaks=(), keeps=(AUG,),
           why="honest: the flip by column indexing and broadcasting, the crop's rule as one comparison"),
    Mutant("honest_augment_reduce", "augment",
           (("""    for op in ops:
        image, mask, boxes = augment_one(image, mask, boxes, op)
    return image, mask, boxes""",
             """    import functools
    return functools.reduce(lambda acc, op: augment_one(*acc, op), ops, (image, mask, boxes))"""),),
           breaks=(), keeps=(COMPOSE,),
           why="honest: functools.reduce over the ops"),
    # ---------------------------------------------------------------- audit (issue 18)
    Mutant("l2_penalty_skips_plain_tensors", "l2_penalty",
           (("for w in params:", "for w in [q for q in params if q.requires_grad]:"),),
           breaks=(L2,),
           why="sums only the tensors that require grad: the penalty is over all the tensors of params"),
    Mutant("l2_penalty_gradient_of_the_first_tensor_only", "l2_penalty",
           (("term = (w * w).sum()", "term = (w * w).sum() if total is None else (w.detach() ** 2).sum()"),),
           breaks=(L2,),
           why="the right value, but only the first tensor stays in the graph: the others are never decayed"),
    Mutant("l2_penalty_gradient_through_a_float_sum", "l2_penalty",
           (("        total = term if total is None else total + term\n",
             "        total = term if total is None else total + float(term)\n"),),
           breaks=(L2,),
           why="adds the later tensors' terms as Python floats: the value is right, their gradients are lost"),
    Mutant("early_stopping_ignores_inf", "EarlyStopping",
           (("if math.isnan(val_loss) or math.isinf(val_loss):", "if math.isnan(val_loss):"),),
           breaks=(STOPS,),
           why="only NaN counts as divergence: an infinite val_loss should stop at once too"),
    Mutant("early_stopping_minus_inf_improves", "EarlyStopping",
           (("if math.isnan(val_loss) or math.isinf(val_loss):",
             "if math.isnan(val_loss) or val_loss == math.inf:"),),
           breaks=(STOPS,),
           why="-inf is taken as an improvement instead of divergence: any infinite val_loss stops at once"),
    Mutant("augment_pops_the_callers_ops", "augment",
           (("    for op in ops:\n", "    while ops:\n        op = ops.pop(0)\n"),),
           breaks=(COMPOSE,),
           why="consumes the caller's list of ops (empties it): the inputs are not to be modified"),
    Mutant("augment_one_crop_returns_views", "augment_one",
           (("image[..., top:top + height, left:left + width].clone()", "image[..., top:top + height, left:left + width]"),
            ("mask[top:top + height, left:left + width].clone()", "mask[top:top + height, left:left + width]")),
           breaks=(AUG,),
           why="the crop returns slices (views) of the inputs, not new tensors: changing the result changes the inputs"),
]
