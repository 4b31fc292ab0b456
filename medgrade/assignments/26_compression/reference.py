"""The references of 26_compression's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
