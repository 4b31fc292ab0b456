"""The references graded answers are compared with, computed in float64.

Each oracle is the library's own implementation (torch, torchvision), called
on float64 copies so that the tolerance of a check is about the student's
answer and not the oracle's rounding.
"""
from __future__ import annotations

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
