"""The references graded answers are compared with, computed in float64.

Each oracle is the library's own implementation (torch, torchvision), called
on float64 copies so that the tolerance of a check is about the student's
answer and not the oracle's rounding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchvision.ops as tvops


def conv_output_size(n: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a 1-D convolution, read off torch itself."""
    conv = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n)).shape[-1])


def conv_transpose_output_size(n: int, k: int, s: int, p: int, output_padding: int, d: int) -> int:
    conv = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=output_padding,
                                    dilation=d, bias=False)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n)).shape[-1])


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    out = F.conv2d(x.double(), w.double(), None if b is None else b.double(),
                   stride=stride, padding=padding, dilation=dilation)
    return out.to(x.dtype)


def batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """Returns (out, new_running_mean, new_running_var); the inputs are not modified."""
    rm = running_mean.double().clone()
    rv = running_var.double().clone()
    out = F.batch_norm(x.double(), rm, rv, gamma.double(), beta.double(),
                       training=training, momentum=momentum, eps=eps)
    return out.to(x.dtype), rm.to(running_mean.dtype), rv.to(running_var.dtype)


def layer_norm(x, normalized_shape, gamma, beta, eps):
    return F.layer_norm(x.double(), normalized_shape, gamma.double(), beta.double(), eps).to(x.dtype)


def box_area(boxes):
    return tvops.box_area(boxes.double()).to(boxes.dtype)


def box_iou(a, b):
    return tvops.box_iou(a.double(), b.double()).to(a.dtype)


def generalized_box_iou(a, b):
    return tvops.generalized_box_iou(a.double(), b.double()).to(a.dtype)


def nms(boxes, scores, iou_threshold):
    return tvops.nms(boxes.double(), scores.double(), iou_threshold)


def batched_nms(boxes, scores, idxs, iou_threshold):
    return tvops.batched_nms(boxes.double(), scores.double(), idxs, iou_threshold)


# ---------------------------------------------------------------- 05_batchnorm

def batch_norm_backward(dout, x, gamma, eps):
    """(dx, dgamma, dbeta) of training-mode batch norm, by autograd through F.batch_norm in float64."""
    x64 = x.detach().double().requires_grad_(True)
    g64 = gamma.detach().double().requires_grad_(True)
    b64 = torch.zeros_like(g64, requires_grad=True)
    with torch.enable_grad():
        out = F.batch_norm(x64, None, None, g64, b64, training=True, eps=eps)
        dx, dgamma, dbeta = torch.autograd.grad(out, (x64, g64, b64), dout.detach().double())
    return dx.to(x.dtype), dgamma.to(gamma.dtype), dbeta.to(gamma.dtype)


# ---------------------------------------------------------------- 14_iou_nms: slow, obvious references


def _iou_of_two(a, b) -> float:
    """IoU of two boxes given as lists of Python floats; 0 when the union is empty."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_nms(boxes, scores, iou_threshold):
    """Greedy NMS one pair at a time in float64; equal scores: the lower index goes first."""
    b, s = boxes.double().tolist(), scores.double().tolist()
    keep: list[int] = []
    for i in sorted(range(len(s)), key=lambda i: (-s[i], i)):
        if all(_iou_of_two(b[i], b[k]) <= iou_threshold for k in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001, *, with_margin=False):
    """Gaussian soft-NMS (Bodla et al. 2017), one box at a time in float64.

    Repeatedly select the live box with the highest current score (the lower
    index on ties), then multiply every other live score by
    exp(-IoU(selected, box)^2 / sigma) and drop those below ``score_threshold``.
    Returns (keep, kept_scores), plus with ``with_margin`` the smallest gap
    between a decision's two sides (best vs runner-up, score vs threshold):
    below about 1e-6 rounding, not the algorithm, decides.
    """
    b, s = boxes.double().tolist(), scores.double().tolist()
    margin = math.inf
    for v in s:
        margin = min(margin, abs(v - score_threshold))
    live = [i for i in range(len(s)) if s[i] >= score_threshold]
    keep, kept = [], []
    while live:
        live.sort(key=lambda i: (-s[i], i))
        best = live.pop(0)
        if live:
            margin = min(margin, s[best] - s[live[0]])
        keep.append(best)
        kept.append(s[best])
        for j in live:
            s[j] *= math.exp(-_iou_of_two(b[best], b[j]) ** 2 / sigma)
            margin = min(margin, abs(s[j] - score_threshold))
        live = [j for j in live if s[j] >= score_threshold]
    out = (torch.tensor(keep, dtype=torch.int64), torch.tensor(kept, dtype=torch.float64).to(scores.dtype))
    return (*out, margin) if with_margin else out


# ---------------------------------------------------------------- 03_pooling

def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool):
    """Length of F.max_pool1d's output on an input of length n, or None when torch rejects the arguments."""
    try:
        with torch.no_grad():
            return int(F.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode).shape[-1])
    except RuntimeError:
        return None


def max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    """(out, indices) of F.max_pool2d in float64 on a contiguous copy; out in x's dtype (exact)."""
    out, idx = F.max_pool2d(x.detach().double().contiguous(), kernel_size, stride, padding, dilation,
                            ceil_mode, return_indices=True)
    return out.to(x.dtype), idx


def max_pool2d_input_grad(x, grad_out, kernel_size, stride, padding, dilation, ceil_mode):
    """The gradient of <F.max_pool2d(x), grad_out> with respect to x, by autograd in float64."""
    x64 = x.detach().double().contiguous().requires_grad_(True)
    with torch.enable_grad():
        out = F.max_pool2d(x64, kernel_size, stride, padding, dilation, ceil_mode)
        (grad,) = torch.autograd.grad(out, x64, grad_out.detach().double())
    return grad.to(grad_out.dtype)


def scatter_add_planes(grad_out, indices, input_shape):
    """Each plane's grad_out added into a zero plane of size H*W at its indices (float64)."""
    h, w = input_shape[-2], input_shape[-1]
    planes = grad_out.detach().double().reshape(-1, grad_out.shape[-2] * grad_out.shape[-1])
    where = indices.reshape(planes.shape)
    out = torch.zeros(planes.shape[0], h * w, dtype=torch.float64).scatter_add_(1, where, planes)
    return out.reshape(tuple(input_shape)).to(grad_out.dtype)


def avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    return F.avg_pool2d(x.detach().double().contiguous(), kernel_size, stride, padding, ceil_mode,
                        count_include_pad).to(x.dtype)


def global_avg_pool2d(x, keepdim):
    out = F.adaptive_avg_pool2d(x.detach().double(), 1)
    return (out if keepdim else out.flatten(2).squeeze(-1)).to(x.dtype)


# ---------------------------------------------------------------- 02_receptive_field

def receptive_field(layers) -> tuple[int, int, float]:
    """(size, jump, start) of the last layer's units, by the forward recurrence.

    ``layers``: dicts with ``kind`` ("conv" or "pool"), ``kernel_size`` and optional
    ``stride`` (default 1 for a convolution, the kernel size for a pooling layer, as in
    PyTorch; None means the default), ``padding`` (0) and ``dilation`` (1). Input pixel
    ``i`` has its centre at coordinate ``i``; ``start`` is the centre of the first output
    unit's field. Exact: every ``start`` is a multiple of 1/2.
    """
    size, jump, start = 1, 1, 0.0
    for layer in layers:
        k = int(layer["kernel_size"])
        stride = layer.get("stride")
        if stride is None:
            stride = k if layer["kind"] == "pool" else 1
        span = int(layer.get("dilation", 1)) * (k - 1) + 1
        start += ((span - 1) / 2 - int(layer.get("padding", 0))) * jump
        size += (span - 1) * jump
        jump *= int(stride)
    return size, jump, start


def _support_twin(model: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of ``model`` whose input gradient is positive exactly on the pixels
    the architecture connects to a unit: convolutions with all-ones weights and no bias,
    max pools as average pools of the same geometry, normalizations and activations as
    identities; padding and nearest up-sampling layers kept."""
    import copy
    twin = copy.deepcopy(model).double()
    keep = (torch.nn.Sequential, torch.nn.Identity, torch.nn.AvgPool2d, torch.nn.ZeroPad2d,
            torch.nn.Upsample)
    identity = (torch.nn.BatchNorm2d, torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.Tanh,
                torch.nn.Sigmoid, torch.nn.Dropout)

    def rebuild(parent: torch.nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Conv2d):
                with torch.no_grad():
                    child.weight.fill_(1.0)
                    if child.bias is not None:
                        child.bias.zero_()
            elif isinstance(child, torch.nn.MaxPool2d):
                if child.dilation not in (1, (1, 1)):
                    raise ValueError("a dilated max pool has no average-pool twin")
                setattr(parent, name, torch.nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                         ceil_mode=child.ceil_mode))
            elif isinstance(child, identity):
                setattr(parent, name, torch.nn.Identity())
            elif isinstance(child, torch.nn.Upsample) and child.mode != "nearest":
                raise ValueError("only nearest up-sampling keeps the support exact")
            elif isinstance(child, keep):
                rebuild(child)
            else:
                raise ValueError(f"no support twin for {type(child).__name__}")

    rebuild(twin)
    return twin.eval()


def input_support(model: torch.nn.Module, input_size, unit=None) -> torch.Tensor:
    """(H, W) bool: the input pixels (any channel) connected to one unit of output channel 0.

    ``input_size`` is (C, H, W); ``unit`` is (row, col) of the output map, None for its
    centre (H_out // 2, W_out // 2). Autograd through the support twin of the model on an
    all-ones input: every path contributes a positive product, so a gradient is > 0
    exactly where a path exists (no cancellation, no dead ReLU, no max-pool argmax).
    """
    twin = _support_twin(model)
    x = torch.ones(1, *input_size, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        y = twin(x)
        if unit is None:
            unit = (y.shape[2] // 2, y.shape[3] // 2)
        (grad,) = torch.autograd.grad(y[0, 0, unit[0], unit[1]], x)
    return (grad[0] > 0).any(dim=0)


def conv_stack_cost(kernel_sizes, channels, size, bias: bool = True) -> tuple[int, int]:
    """(parameters, FLOPs) of stride-1 "same" convolutions in sequence, read off torch: the
    parameters of the nn.Conv2d modules and the FlopCounterMode count of one forward pass
    of a batch of one (meta tensors: shapes only; 2 FLOPs per multiply-accumulate, bias
    additions not counted). ``channels``: an int (every layer C -> C) or the list
    c_0, ..., c_L; ``size``: an int or (H, W); kernel sizes: odd ints or (kh, kw) pairs."""
    from torch.utils.flop_counter import FlopCounterMode
    kernels = [(k, k) if isinstance(k, int) else tuple(k) for k in kernel_sizes]
    chans = [channels] * (len(kernels) + 1) if isinstance(channels, int) else list(channels)
    h, w = (size, size) if isinstance(size, int) else size
    if not kernels:
        return 0, 0
    convs = [torch.nn.Conv2d(chans[i], chans[i + 1], k, padding=(k[0] // 2, k[1] // 2), bias=bias,
                             device="meta") for i, k in enumerate(kernels)]
    stack = torch.nn.Sequential(*convs)
    params = sum(p.numel() for p in stack.parameters())
    with FlopCounterMode(display=False) as counter:
        stack(torch.empty(1, chans[0], h, w, device="meta"))
    return int(params), int(counter.get_total_flops())


# ---------------------------------------------------------------- 04_cnn_classifier: scikit-learn metrics, a MATLAB-style training loop

def confusion_matrix(y_true, y_pred, num_classes):
    """scikit-learn's confusion matrix (rows: truth, columns: prediction) as an int64 tensor."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix
    if len(y_true) == 0:
        return torch.zeros(num_classes, num_classes, dtype=torch.int64)
    out = sk_confusion_matrix(y_true.numpy(), y_pred.numpy(), labels=list(range(num_classes)))
    return torch.from_numpy(out).to(torch.int64)


def sensitivity_specificity(y_true, y_pred):
    """scikit-learn's recall of class 1 and of class 0; NaN where a class has no sample."""
    from sklearn.metrics import recall_score
    out = []
    for positive in (1, 0):
        if int((y_true == positive).sum()) == 0:
            out.append(math.nan)
        else:
            out.append(float(recall_score(y_true.numpy(), y_pred.numpy(), pos_label=positive,
                                          average="binary", zero_division=math.nan)))
    return tuple(out)


def roc_auc(y_true, scores) -> float:
    """scikit-learn's roc_auc_score in float64 (raises ValueError for a single class)."""
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y_true.numpy(), scores.double().numpy()))


def class_weights(labels, num_classes):
    """scikit-learn's compute_class_weight("balanced") over the classes 0 .. num_classes - 1."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight
    w = compute_class_weight("balanced", classes=np.arange(num_classes), y=labels.numpy())
    return torch.from_numpy(w).float()


def train_sgd_steplr(net, x, y, options, x_val=None, y_val=None, class_weights=None) -> dict:
    """The reference of a MATLAB-style training run with Shuffle "never", on torch.optim.SGD and
    torch.optim.lr_scheduler.StepLR (stepped once per epoch). Trains ``net`` in place.

    Iterations take floor(N / MiniBatchSize) mini-batches per epoch in index order (the incomplete
    one is dropped); validation after every ValidationFrequency-th iteration and after the last
    one; training stops when ValidationPatience validations in a row have a loss >= the smallest
    before them. Returns the history as plain data.
    """
    o = options
    n, batch = len(y), o["MiniBatchSize"]
    per_epoch = n // batch
    opt = torch.optim.SGD(net.parameters(), lr=o["InitialLearnRate"], momentum=o["Momentum"],
                          weight_decay=o["L2Regularization"])
    sched = (torch.optim.lr_scheduler.StepLR(opt, step_size=o["LearnRateDropPeriod"], gamma=o["LearnRateDropFactor"])
             if o["LearnRateSchedule"] == "piecewise" else None)
    h = {"loss": [], "learning_rate": [], "epoch": [], "val_iteration": [], "val_loss": [],
         "iterations": 0, "stopped_early": False}
    state = {"best": math.inf, "count": 0}

    def validate() -> bool:
        net.eval()
        with torch.no_grad():
            loss = F.cross_entropy(net(x_val), y_val, weight=class_weights).item()
        net.train()
        h["val_iteration"].append(h["iterations"])
        h["val_loss"].append(loss)
        if loss < state["best"]:
            state["best"], state["count"] = loss, 0
        else:
            state["count"] += 1
        return state["count"] >= o["ValidationPatience"]

    net.train()
    stop = False
    for epoch in range(1, o["MaxEpochs"] + 1):
        lr = opt.param_groups[0]["lr"]
        for k in range(per_epoch):
            logits = net(x[k * batch:(k + 1) * batch])
            loss = F.cross_entropy(logits, y[k * batch:(k + 1) * batch], weight=class_weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            h["loss"].append(loss.item())
            h["learning_rate"].append(lr)
            h["epoch"].append(epoch)
            h["iterations"] += 1
            if x_val is not None and h["iterations"] % o["ValidationFrequency"] == 0:
                stop = validate()
                if stop:
                    break
        if stop:
            break
        if sched is not None:
            sched.step()
    if x_val is not None and not stop and (not h["val_iteration"] or h["val_iteration"][-1] != h["iterations"]):
        stop = validate()
    h["stopped_early"] = stop
    return h


def patience_stop(iterations: int, frequency: int, patience: float, loss_after) -> dict:
    """Validation iterations, losses and stop of the MATLAB patience rule, for scripted losses
    (``loss_after(i)``: the validation loss after i iterations)."""
    its, losses, best, count, stop = [], [], math.inf, 0, False
    points = [i for i in range(1, iterations + 1) if i % frequency == 0]
    if iterations and (not points or points[-1] != iterations):
        points.append(iterations)
    for i in points:
        its.append(i)
        losses.append(loss_after(i))
        if losses[-1] < best:
            best, count = losses[-1], 0
        else:
            count += 1
        if count >= patience:
            stop = True
            break
    return {"val_iteration": its, "val_loss": losses, "iterations": its[-1] if stop else iterations,
            "stopped_early": stop}


# ---------------------------------------------------------------- 06_losses

def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean"):
    """F.cross_entropy on float64 copies, returned in the logits' dtype."""
    out = F.cross_entropy(logits.double(), target, None if weight is None else weight.double(),
                          ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    return out.to(logits.dtype)


def overlap_terms(probs, target):
    """(probs, target) as float64 (N, C, H, W) pairs: a binary (N, H, W) gets a channel axis,
    int64 class indices (N, H, W) become a one-hot map."""
    p = probs.double()
    if p.dim() == 3:
        return p.unsqueeze(1), target.double().unsqueeze(1)
    if target.shape != probs.shape:
        onehot = torch.zeros(p.shape, dtype=torch.float64)
        onehot.scatter_(1, target.long().unsqueeze(1), 1.0)
        return p, onehot
    return p, target.double()


def soft_overlap(probs, target, smooth, kind):
    """Soft Dice or Jaccard coefficient of every (sample, class), in float64, one pair at a time.

    Dice = (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth),
    Jaccard = (sum(p t) + smooth) / (sum(p) + sum(t) - sum(p t) + smooth),
    sums over the pixels of one sample and one class. Differentiable in ``probs``.
    """
    p, t = overlap_terms(probs, target)
    rows = []
    for i in range(p.shape[0]):
        row = []
        for c in range(p.shape[1]):
            inter = (p[i, c] * t[i, c]).sum()
            total = p[i, c].sum() + t[i, c].sum()
            if kind == "dice":
                row.append((2 * inter + smooth) / (total + smooth))
            else:
                row.append((inter + smooth) / (total - inter + smooth))
        rows.append(torch.stack(row))
    return torch.stack(rows)


def sigmoid_focal_loss(logits, targets, alpha, gamma, reduction):
    return tvops.sigmoid_focal_loss(logits.double(), targets.double(), alpha=alpha, gamma=gamma,
                                    reduction=reduction).to(logits.dtype)


def smooth_l1_loss(input, target, beta, reduction):
    return F.smooth_l1_loss(input.double(), target.double(), beta=beta, reduction=reduction).to(input.dtype)


# ---------------------------------------------------------------- 26_compression: torch's pruning and quantization

def l1_unstructured_mask(weight, amount):
    """torch.nn.utils.prune.l1_unstructured's mask (1 keeps, 0 prunes), dtype of ``weight``."""
    from torch.nn.utils import prune
    holder = torch.nn.Module()
    holder.weight = torch.nn.Parameter(weight.detach().clone())
    prune.l1_unstructured(holder, "weight", amount=amount)
    return holder.weight_mask.detach().clone()


def global_l1_masks(weights, amount):
    """torch.nn.utils.prune.global_unstructured (L1) over the tensors together: one mask each."""
    from torch.nn.utils import prune
    holders = []
    for w in weights:
        holder = torch.nn.Module()
        holder.weight = torch.nn.Parameter(w.detach().clone())
        holders.append(holder)
    prune.global_unstructured([(h, "weight") for h in holders], pruning_method=prune.L1Unstructured,
                              amount=amount)
    return [h.weight_mask.detach().clone() for h in holders]


def kept_channels(weight, keep):
    """Indices (ascending) of the ``keep`` filters of largest L1 norm; equal norms: lower index kept."""
    norms = weight.detach().double().abs().sum(dim=tuple(range(1, weight.dim())))
    order = torch.argsort(norms, descending=True, stable=True)
    return torch.sort(order[:keep]).values


def _qdtype(qmin, qmax):
    if qmin >= 0 and qmax <= 255:
        return torch.quint8
    if qmin >= -128 and qmax <= 127:
        return torch.qint8
    return torch.qint32


def minmax_qparams(x_min, x_max, qmin, qmax, symmetric=False):
    """(scale float32, zero point int64) of torch's MinMaxObserver for the range [x_min, x_max]
    (0-d tensors), or of PerChannelMinMaxObserver for one range per channel (1-d tensors)."""
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver
    x_min, x_max = torch.as_tensor(x_min, dtype=torch.float32), torch.as_tensor(x_max, dtype=torch.float32)
    dtype = _qdtype(qmin, qmax)
    if x_min.dim() == 0:
        scheme = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
        observer = MinMaxObserver(dtype=dtype, qscheme=scheme, quant_min=qmin, quant_max=qmax)
        observer(torch.stack([x_min, x_max]))
    else:
        scheme = torch.per_channel_symmetric if symmetric else torch.per_channel_affine
        observer = PerChannelMinMaxObserver(ch_axis=0, dtype=dtype, qscheme=scheme, quant_min=qmin, quant_max=qmax)
        observer(torch.stack([x_min, x_max], dim=1))
    scale, zero_point = observer.calculate_qparams()
    return scale.reshape(x_min.shape).to(torch.float32), zero_point.reshape(x_min.shape).to(torch.int64)


def quantize(x, scale, zero_point, qmin, qmax, axis=None):
    """torch.quantize_per_tensor / quantize_per_channel's integers, clamped to [qmin, qmax] (int64)."""
    dtype = _qdtype(qmin, qmax)
    if axis is None:
        q = torch.quantize_per_tensor(x.float(), float(scale), int(zero_point), dtype)
    else:
        q = torch.quantize_per_channel(x.float(), torch.as_tensor(scale, dtype=torch.float64),
                                       torch.as_tensor(zero_point, dtype=torch.int64), axis, dtype)
    return q.int_repr().to(torch.int64).clamp(qmin, qmax)


def quantize_dequantize(x, scale, zero_point, qmin, qmax, axis=None):
    """(q int64, torch's dequantized float32 values) of x quantized by torch (q in the
    storage type's range, which may be wider than [qmin, qmax])."""
    dtype = _qdtype(qmin, qmax)
    x = x.float()
    if axis is None:
        q = torch.quantize_per_tensor(x, float(scale), int(zero_point), dtype)
    else:
        q = torch.quantize_per_channel(x, torch.as_tensor(scale, dtype=torch.float64),
                                       torch.as_tensor(zero_point, dtype=torch.int64), axis, dtype)
    return q.int_repr().to(torch.int64), q.dequantize()


def distillation_loss(student_logits, teacher_logits, T):
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), batch mean, in float64."""
    s, t = student_logits.double(), teacher_logits.double()
    return F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1), reduction="batchmean",
                    log_target=True) * T * T


def state_dict_bytes(model) -> int:
    """The size of ``torch.save(model.state_dict())`` in bytes."""
    import io
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


# ---------------------------------------------------------------- 27_distributed

def distributed_sampler_indices(dataset_size: int, world_size: int, rank: int, shuffle: bool,
                                seed: int, epoch: int, drop_last: bool) -> list[int]:
    """What torch's DistributedSampler yields for range(dataset_size) in epoch ``epoch``."""
    from torch.utils.data.distributed import DistributedSampler
    sampler = DistributedSampler(range(dataset_size), num_replicas=world_size, rank=rank,
                                 shuffle=shuffle, seed=seed, drop_last=drop_last)
    sampler.set_epoch(epoch)
    return [int(i) for i in sampler]
