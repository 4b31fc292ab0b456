"""The references of 01_conv_arithmetic's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
