"""Mutants of 06_losses."""
from medgrade.mutants import Mutant

CE = "cross_entropy_matches_torch"
STABLE = "cross_entropy_stable"
WEIGHT = "cross_entropy_weight_ignore"
SMOOTHING = "cross_entropy_label_smoothing"
DICE_BIN = "soft_dice_loss_binary"
DICE_MULTI = "soft_dice_loss_multiclass"
DICE_GRAD = "soft_dice_loss_gradients"
IOU = "soft_iou_loss_correct"
IOU_GRAD = "soft_iou_loss_gradients"
FOCAL = "focal_loss_correct"
FOCAL_STABLE = "focal_loss_stable"
SL1 = "smooth_l1_correct"
SL1_ZERO = "smooth_l1_beta_zero"

_CE_BODY = """    C = logits.shape[1]
    z = logits.movedim(1, -1)                                   # (N, d1, ..., C): classes last
    shifted = z - z.amax(dim=-1, keepdim=True)                  # the largest logit of each position -> 0
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))  # a valid index where ignored
    picked = log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    if weight is None:
        w_target = keep.to(logits.dtype)
        uniform = -log_probs.sum(dim=-1)
    else:
        w_target = weight[safe] * keep
        uniform = -(log_probs * weight).sum(dim=-1)
    loss = (1 - label_smoothing) * (-picked * w_target) + (label_smoothing / C) * uniform * keep
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w_target.sum()
"""

MUTANTS = [
    # ---------------------------------------------------------------- cross_entropy
    Mutant("ce_no_max_shift", "cross_entropy",
           (("shifted = z - z.amax(dim=-1, keepdim=True)", "shifted = z"),),
           breaks=(STABLE, SMOOTHING), keeps=(CE, WEIGHT),
           why="exponentiates the raw logits: exp(1e4) is inf, the loss nan (also the smoothing term)"),
    Mutant("ce_log_of_softmax", "cross_entropy",
           (("log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
             "log_probs = torch.log(torch.softmax(z, dim=-1))"),),
           breaks=(STABLE, SMOOTHING), keeps=(CE, WEIGHT),
           why="softmax, then log: probabilities that underflow to 0 give -inf"),
    Mutant("ce_global_max_shift", "cross_entropy",
           (("shifted = z - z.amax(dim=-1, keepdim=True)", "shifted = z - z.max()"),),
           breaks=(STABLE, SMOOTHING), keeps=(CE, WEIGHT),
           why="shifts by one maximum for the whole batch: a row far below it underflows"),
    Mutant("ce_flattened_without_moving_classes", "cross_entropy",
           (("z = logits.movedim(1, -1)", "z = logits.reshape(*target.shape, C)"),),
           breaks=(CE,),
           why="reshapes (N, C, H, W) to (N, H, W, C) without moving the class axis: pixels and classes mixed up"),
    Mutant("ce_one_hot_infers_classes", "cross_entropy",
           (("picked = log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)",
             "picked = (log_probs * F.one_hot(safe)).sum(dim=-1)"),),
           breaks=(CE,),
           why="F.one_hot without num_classes: wrong width when the last class is absent from the targets"),
    Mutant("ce_mean_over_count", "cross_entropy",
           (("return loss.sum() / w_target.sum()", "return loss.sum() / keep.sum()"),),
           breaks=(WEIGHT,), keeps=(CE, STABLE),
           why="the weighted mean divides by the number of targets instead of the sum of their weights"),
    Mutant("ce_plain_mean", "cross_entropy",
           (("return loss.sum() / w_target.sum()", "return loss.mean()"),),
           breaks=(WEIGHT, SMOOTHING), keeps=(CE, STABLE),
           why="mean over all positions: ignored ones and the weights' scale counted wrongly"),
    Mutant("ce_weight_indexed_by_raw_target", "cross_entropy",
           (("w_target = weight[safe] * keep", "w_target = weight[target] * keep"),),
           breaks=(WEIGHT,), keeps=(CE, STABLE),
           why="indexes the weights with the raw target: -100 is out of range"),
    Mutant("ce_ignore_index_not_honoured", "cross_entropy",
           (("keep = target != ignore_index", "keep = target >= 0"),),
           breaks=(WEIGHT,), keeps=(CE, STABLE),
           why="treats only negative targets as ignored: ignore_index = 0 (background) is not honoured"),
    Mutant("ce_smoothing_unweighted", "cross_entropy",
           (("uniform = -(log_probs * weight).sum(dim=-1)", "uniform = -log_probs.sum(dim=-1)"),),
           breaks=(SMOOTHING,), keeps=(CE, STABLE, WEIGHT),
           why="the smoothing term ignores the class weights"),
    Mutant("ce_smoothing_over_other_classes", "cross_entropy",
           (("(label_smoothing / C) * uniform * keep",
             "(label_smoothing / max(C - 1, 1)) * (uniform + picked * w_target) * keep"),),
           breaks=(SMOOTHING,), keeps=(CE, STABLE, WEIGHT),
           why="spreads eps over the C - 1 other classes (another convention, not torch's)"),
    Mutant("ce_smoothing_not_masked", "cross_entropy",
           (("(label_smoothing / C) * uniform * keep", "(label_smoothing / C) * uniform"),),
           breaks=(SMOOTHING,), keeps=(CE, STABLE, WEIGHT),
           why="ignored positions still pay the smoothing term"),
    Mutant("ce_logcumsumexp", "cross_entropy",
           (("log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
             "log_probs = z - torch.logcumsumexp(z, dim=-1)[..., -1:]"),),
           breaks=(CE, STABLE, WEIGHT, SMOOTHING),
           why="the library's log-sum-exp under another name: the last entry of a logcumsumexp"),
    Mutant("ce_permutes_up_to_4d", "cross_entropy",
           (("z = logits.movedim(1, -1)",
             "z = (logits.permute(0, 2, 3, 1) if logits.dim() == 4 else\n"
             "         logits.permute(0, 2, 1) if logits.dim() == 3 else logits)"),),
           breaks=(CE,),
           why="moves the class axis for (N, C), (N, C, L) and (N, C, H, W) only: (N, C, D, H, W) volumes fail"),
    Mutant("ce_view_assumes_contiguous", "cross_entropy",
           (("z = logits.movedim(1, -1)",
             "z = logits.view(logits.shape[0], C, -1).transpose(1, 2).reshape(*target.shape, C)"),),
           breaks=(CE,), keeps=(STABLE,),
           why="flattens the positions with .view: a non-contiguous logits tensor raises"),
    Mutant("ce_smoothing_clamped_log", "cross_entropy",
           (("uniform = -log_probs.sum(dim=-1)",
             "uniform = -torch.log(torch.softmax(z, dim=-1).clamp(min=1e-30)).sum(dim=-1)"),
            ("uniform = -(log_probs * weight).sum(dim=-1)",
             "uniform = -(torch.log(torch.softmax(z, dim=-1).clamp(min=1e-30)) * weight).sum(dim=-1)")),
           breaks=(SMOOTHING,), keeps=(CE, STABLE, WEIGHT),
           why="the smoothing term from clamped probabilities: finite, but capped at 69 per class for huge logits"),
    Mutant("ce_ignore_negative_only", "cross_entropy",
           (("safe = torch.where(keep, target, torch.zeros_like(target))", "safe = target.clamp(min=0)"),),
           breaks=(WEIGHT, SMOOTHING), keeps=(CE, STABLE),
           why="replaces only negative ignored targets by a valid index: ignore_index = 255 is out of range"),
    # ---------------------------------------------------------------- soft_dice_loss
    Mutant("dice_smooth_only_in_denominator", "soft_dice_loss",
           (("loss = 1 - (2 * inter + smooth) / (total + smooth)", "loss = 1 - (2 * inter) / (total + smooth)"),),
           breaks=(DICE_BIN, DICE_MULTI),
           why="smooth in the denominator only: an empty prediction on an empty mask scores loss 1"),
    Mutant("dice_squared_denominator", "soft_dice_loss",
           (("total = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))",
             "total = (probs ** 2).sum(dim=(2, 3)) + (target ** 2).sum(dim=(2, 3))"),),
           breaks=(DICE_BIN, DICE_MULTI),
           why="V-Net's squared denominator: another loss for soft probabilities"),
    Mutant("dice_batch_sums", "soft_dice_loss",
           (("inter = (probs * target).sum(dim=(2, 3))", "inter = (probs * target).sum(dim=(0, 2, 3))"),
            ("total = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))",
             "total = probs.sum(dim=(0, 2, 3)) + target.sum(dim=(0, 2, 3))")),
           breaks=(DICE_BIN, DICE_MULTI),
           why="one global sum over the batch instead of one coefficient per image"),
    Mutant("dice_excludes_background", "soft_dice_loss",
           (("    return loss if reduction == \"none\" else loss.mean()",
             "    loss = loss[:, 1:] if loss.shape[1] > 1 else loss\n"
             "    return loss if reduction == \"none\" else loss.mean()"),),
           breaks=(DICE_MULTI,), keeps=(DICE_BIN,),
           why="drops class 0 of multi-class inputs (the contract includes the background)"),
    Mutant("dice_pools_classes", "soft_dice_loss",
           (("inter = (probs * target).sum(dim=(2, 3))", "inter = (probs * target).sum(dim=(1, 2, 3))[:, None]"),
            ("total = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))",
             "total = (probs.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)))[:, None]")),
           breaks=(DICE_MULTI,), keeps=(DICE_BIN,),
           why="sums over the classes before the ratio (one pooled coefficient per image)"),
    Mutant("dice_thresholded", "soft_dice_loss",
           (("    target = target.to(probs.dtype)\n",
             "    target = target.to(probs.dtype)\n    probs = (probs > 0.5).to(probs.dtype)\n"),),
           breaks=(DICE_BIN, DICE_GRAD),
           why="thresholds the probabilities: the hard Dice, with no gradient"),
    Mutant("dice_detached_denominator", "soft_dice_loss",
           (("loss = 1 - (2 * inter + smooth) / (total + smooth)",
             "loss = 1 - (2 * inter + smooth) / (total + smooth).detach()"),),
           breaks=(DICE_GRAD,), keeps=(DICE_BIN, DICE_MULTI),
           why="detaches the denominator: the right value, the wrong gradient"),
    Mutant("dice_empty_guard", "soft_dice_loss",
           (("loss = 1 - (2 * inter + smooth) / (total + smooth)",
             "loss = torch.where(total > 0, 1 - (2 * inter + smooth) / (total + smooth), torch.zeros_like(total))"),),
           breaks=(DICE_GRAD,), keeps=(DICE_BIN, DICE_MULTI),
           why="guards empty masks with torch.where: value 0, but the gradient there is 0 instead of the formula's"),
    Mutant("dice_thresholded_target", "soft_dice_loss",
           (("    target = target.to(probs.dtype)\n", "    target = (target > 0.5).to(probs.dtype)\n"),),
           breaks=(DICE_BIN, DICE_MULTI),
           why="thresholds the target: right for masks and one-hot maps, wrong for soft labels"),
    Mutant("dice_view_assumes_contiguous", "soft_dice_loss",
           (("inter = (probs * target).sum(dim=(2, 3))",
             "probs, target = probs.view(*probs.shape[:2], -1), target.view(*target.shape[:2], -1)\n"
             "    inter = (probs * target).sum(dim=2)"),
            ("total = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))", "total = probs.sum(dim=2) + target.sum(dim=2)")),
           breaks=(DICE_BIN, DICE_MULTI),
           why="flattens the pixels with .view: non-contiguous probabilities raise"),
    # ---------------------------------------------------------------- soft_iou_loss
    Mutant("iou_union_without_intersection", "soft_iou_loss",
           (("union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3)) - inter",
             "union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))"),),
           breaks=(IOU,),
           why="the union is |A| + |B| without subtracting the intersection"),
    Mutant("iou_smooth_only_in_numerator", "soft_iou_loss",
           (("loss = 1 - (inter + smooth) / (union + smooth)", "loss = 1 - (inter + smooth) / union"),),
           breaks=(IOU,),
           why="smooth in the numerator only: empty masks divide by zero"),
    Mutant("iou_batch_sums", "soft_iou_loss",
           (("inter = (probs * target).sum(dim=(2, 3))", "inter = (probs * target).sum(dim=(0, 2, 3))"),
            ("union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3)) - inter",
             "union = probs.sum(dim=(0, 2, 3)) + target.sum(dim=(0, 2, 3)) - inter")),
           breaks=(IOU,),
           why="one global ratio for the batch"),
    Mutant("iou_detached_union", "soft_iou_loss",
           (("loss = 1 - (inter + smooth) / (union + smooth)", "loss = 1 - (inter + smooth) / (union + smooth).detach()"),),
           breaks=(IOU_GRAD,), keeps=(IOU,),
           why="detaches the union: the right value, the wrong gradient"),
    Mutant("iou_empty_guard", "soft_iou_loss",
           (("loss = 1 - (inter + smooth) / (union + smooth)",
             "loss = torch.where(union > 0, 1 - (inter + smooth) / (union + smooth), torch.zeros_like(union))"),),
           breaks=(IOU_GRAD,), keeps=(IOU,),
           why="guards empty masks with torch.where: the gradient there is 0 instead of the formula's"),
    Mutant("iou_fuzzy_union", "soft_iou_loss",
           (("union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3)) - inter",
             "union = torch.maximum(probs, target).sum(dim=(2, 3))"),),
           breaks=(IOU,),
           why="the fuzzy union sum(max(p, t)): equal to the formula on 0/1 targets only, not on soft labels"),
    Mutant("iou_view_assumes_contiguous", "soft_iou_loss",
           (("inter = (probs * target).sum(dim=(2, 3))",
             "probs, target = probs.view(*probs.shape[:2], -1), target.view(*target.shape[:2], -1)\n"
             "    inter = (probs * target).sum(dim=2)"),
            ("union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3)) - inter",
             "union = probs.sum(dim=2) + target.sum(dim=2) - inter")),
           breaks=(IOU,),
           why="flattens the pixels with .view: non-contiguous probabilities raise"),
    # ---------------------------------------------------------------- focal_loss
    Mutant("focal_log_of_sigmoid", "focal_loss",
           (("ce = (1 - targets) * logits - F.logsigmoid(logits)",
             "ce = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))"),),
           breaks=(FOCAL, FOCAL_STABLE),
           why="the log of probabilities: inf once sigmoid saturates, and inaccurate well before"),
    Mutant("focal_log1p_exp_overflows", "focal_loss",
           (("ce = (1 - targets) * logits - F.logsigmoid(logits)",
             "ce = (1 - targets) * logits + torch.log(1 + torch.exp(-logits))"),),
           breaks=(FOCAL_STABLE,), keeps=(FOCAL,),
           why="log(1 + exp(-x)) is exact for moderate x but exp overflows for x below -88"),
    Mutant("focal_own_sigmoid", "focal_loss",
           (("p = torch.sigmoid(logits)", "p = 1 / (1 + torch.exp(-logits))"),),
           breaks=(FOCAL_STABLE,), keeps=(FOCAL,),
           why="a hand-written sigmoid: right values, but inf / inf = nan in its gradient at large negative logits"),
    Mutant("focal_alpha_not_per_label", "focal_loss",
           (("loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss", "loss = alpha * loss"),),
           breaks=(FOCAL,),
           why="multiplies every example by alpha instead of alpha / (1 - alpha) by label"),
    Mutant("focal_alpha_on_negatives", "focal_loss",
           (("loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss",
             "loss = ((1 - alpha) * targets + alpha * (1 - targets)) * loss"),),
           breaks=(FOCAL,),
           why="alpha weights the negatives instead of the positives"),
    Mutant("focal_alpha_off_ignored", "focal_loss",
           (("if alpha >= 0:", "if alpha is not None:"),),
           breaks=(FOCAL,),
           why="alpha = -1 is applied as a weight (-1 and 2) instead of meaning no weighting"),
    Mutant("focal_modulates_with_p_t", "focal_loss",
           (("loss = ce * (1 - p_t) ** gamma", "loss = ce * p_t ** gamma"),),
           breaks=(FOCAL,),
           why="(p_t)^gamma: down-weights the hard examples instead of the easy ones"),
    Mutant("focal_view_assumes_contiguous", "focal_loss",
           (("    p = torch.sigmoid(logits)\n",
             "    shape = logits.shape\n    logits, targets = logits.view(-1), targets.view(-1)\n"
             "    p = torch.sigmoid(logits)\n"),
            ("        return loss\n", "        return loss.view(shape)\n")),
           breaks=(FOCAL,),
           why="flattens with .view: non-contiguous logits raise"),
    # ---------------------------------------------------------------- smooth_l1
    Mutant("sl1_full_beta_offset", "smooth_l1",
           (("diff - 0.5 * beta)", "diff - beta)"),),
           breaks=(SL1,), keeps=(SL1_ZERO,),
           why="|d| - beta: the two pieces do not meet at |d| = beta"),
    Mutant("sl1_no_division_by_beta", "smooth_l1",
           (("0.5 * diff ** 2 / beta", "0.5 * diff ** 2"),),
           breaks=(SL1,), keeps=(SL1_ZERO,),
           why="0.5 d^2 without / beta: right only for beta = 1"),
    Mutant("sl1_beta_one_formula", "smooth_l1",
           (("torch.where(diff < beta, 0.5 * diff ** 2 / beta, diff - 0.5 * beta)",
             "torch.where(diff < beta, 0.5 * diff ** 2, diff - 0.5)"),),
           breaks=(SL1,), keeps=(SL1_ZERO,),
           why="the beta = 1 formula whatever beta is"),
    Mutant("sl1_beta_zero_not_special", "smooth_l1",
           (("if beta == 0:", "if False:"),),
           breaks=(SL1_ZERO,), keeps=(SL1,),
           why="beta = 0 through torch.where: the unused branch is 0 / 0 and the gradient nan"),
    Mutant("sl1_mask_arithmetic", "smooth_l1",
           (("if beta == 0:", "if False:"),
            ("loss = torch.where(diff < beta, 0.5 * diff ** 2 / beta, diff - 0.5 * beta)",
             "small = (diff < beta).to(diff.dtype)\n"
             "        loss = small * (0.5 * diff ** 2 / beta) + (1 - small) * (diff - 0.5 * beta)")),
           breaks=(SL1_ZERO,), keeps=(SL1,),
           why="mixes the pieces by multiplying with a 0/1 mask: 0 * inf = nan for beta = 0"),
    Mutant("sl1_view_assumes_contiguous", "smooth_l1",
           (("diff = (input - target).abs()", "diff = (input.view(-1) - target.view(-1)).abs().view(input.shape)"),),
           breaks=(SL1,),
           why="flattens with .view: non-contiguous inputs raise"),
    Mutant("sl1_beta_zero_private_l1", "smooth_l1",
           (("        loss = diff\n", "        loss = torch._C._nn.l1_loss(input, target, 0)\n"),),
           breaks=(SL1_ZERO,), keeps=(SL1,),
           why="beta = 0 through torch._C._nn.l1_loss, the library's L1 loss under another name"),
]

# the demo's buggy student makes these mistakes
DEMO = ("ce_global_max_shift", "dice_excludes_background")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_ce_one_hot_and_lse", "cross_entropy",
           ((_CE_BODY, """    C = logits.shape[1]
    perm = [0] + list(range(2, logits.dim())) + [1]
    z = logits.permute(*perm)
    m = z.max(dim=-1, keepdim=True).values
    lse = m + torch.log(torch.exp(z - m).sum(dim=-1, keepdim=True))
    nll_all = lse - z                                           # -log p for every class
    ignored = target == ignore_index
    onehot = F.one_hot(target.masked_fill(ignored, 0), C).to(logits.dtype)
    w = torch.ones(C, dtype=logits.dtype) if weight is None else weight
    w_pos = (onehot * w).sum(dim=-1).masked_fill(ignored, 0.0)
    per = ((1 - label_smoothing) * onehot + label_smoothing / C) * w * nll_all
    per = per.sum(dim=-1).masked_fill(ignored, 0.0)
    if reduction == "mean":
        return per.sum() / w_pos.sum()
    return per.sum() if reduction == "sum" else per
"""),),
           breaks=(), keeps=(CE, STABLE, WEIGHT, SMOOTHING),
           why="permute, max().values, m + log-sum-exp, a one-hot mixing of the target distribution"),
    Mutant("honest_dice_complement_flattened", "soft_dice_loss",
           (("""    target = target.to(probs.dtype)
    inter = (probs * target).sum(dim=(2, 3))             # (N, C): one value per image and class
    total = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
    loss = 1 - (2 * inter + smooth) / (total + smooth)""",
             """    p = probs.flatten(2)
    t = target.flatten(2).type_as(probs)
    inter = torch.einsum("ncx,ncx->nc", p, t)
    total = p.sum(-1) + t.sum(-1)
    loss = (total - 2 * inter) / (total + smooth)"""),),
           breaks=(), keeps=(DICE_BIN, DICE_MULTI, DICE_GRAD),
           why="flatten + einsum, and 1 - D written as (P + T - 2I) / (P + T + s)"),
    Mutant("honest_iou_from_scatter", "soft_iou_loss",
           (("        target = F.one_hot(target, probs.shape[1]).movedim(-1, 1)",
             "        target = torch.zeros_like(probs).scatter_(1, target.unsqueeze(1), 1.0)"),
            ("loss = 1 - (inter + smooth) / (union + smooth)", "loss = (union - inter) / (union + smooth)")),
           breaks=(), keeps=(IOU, IOU_GRAD),
           why="a one-hot map by scatter_, and 1 - J written as (U - I) / (U + s)"),
    Mutant("honest_focal_clamp_log1p", "focal_loss",
           (("ce = (1 - targets) * logits - F.logsigmoid(logits)",
             "ce = logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))"),
            ("loss = ce * (1 - p_t) ** gamma", "loss = ce * torch.pow(1 - p_t, gamma)")),
           breaks=(), keeps=(FOCAL, FOCAL_STABLE),
           why="the max(x, 0) - x t + log1p(exp(-|x|)) form of the binary cross-entropy"),
    Mutant("honest_sl1_clamped_quadratic", "smooth_l1",
           (("loss = torch.where(diff < beta, 0.5 * diff ** 2 / beta, diff - 0.5 * beta)",
             "inner = diff.clamp(max=beta)\n        loss = 0.5 * inner ** 2 / beta + (diff - inner)"),),
           breaks=(), keeps=(SL1, SL1_ZERO),
           why="min(|d|, beta) splits the error into a quadratic and a linear part, no torch.where"),
]
