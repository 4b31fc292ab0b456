"""The references of 02_receptive_field's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch


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
