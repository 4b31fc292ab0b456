"""The references of 13_unet's checks: the paper's architecture written out plainly with torch's
own layers, its sizes simulated layer by layer, and parameter counts added up layer by layer."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PADDINGS = {"valid": 0, "same": 1}


# ---------------------------------------------------------------- the blocks

def double_conv_forward(x: torch.Tensor, params: list[torch.Tensor], padding: str) -> torch.Tensor:
    """conv3x3 -> ReLU -> conv3x3 -> ReLU with the given (w1, b1, w2, b2), zero padding 0 or 1."""
    w1, b1, w2, b2 = params
    p = PADDINGS[padding]
    return F.relu(F.conv2d(F.relu(F.conv2d(x, w1, b1, padding=p)), w2, b2, padding=p))


def double_conv_shapes(in_channels: int, out_channels: int) -> dict[str, tuple[int, ...]]:
    """The state_dict of nn.Sequential(Conv2d, ReLU, Conv2d, ReLU): names and shapes."""
    return {"0.weight": (out_channels, in_channels, 3, 3), "0.bias": (out_channels,),
            "2.weight": (out_channels, out_channels, 3, 3), "2.bias": (out_channels,)}


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The centred window; an odd surplus leaves its extra row at the bottom, column at the right."""
    top = (x.shape[-2] - height) // 2
    left = (x.shape[-1] - width) // 2
    return x[..., top:top + height, left:left + width]


# ---------------------------------------------------------------- sizes

def unet_maps(size: int, depth: int, padding: str) -> list[tuple[str, int]] | None:
    """Every feature map's side along one axis, in the order the network computes them, or None
    when the input side is illegal (a pooled map of odd side, or a map of side < 1)."""
    if padding not in PADDINGS or depth < 1 or size < 1:
        return None
    shrink = 2 - 2 * PADDINGS[padding]              # a 3x3 convolution removes 2 (valid) or 0 (same)
    maps, s = [], size
    for level in range(depth):
        for _ in range(2):
            s -= shrink
            maps.append((f"encoder level {level} conv", s))
        if s < 1 or s % 2:
            return None
        s //= 2
        maps.append((f"pooled to level {level + 1}", s))
    for _ in range(2):
        s -= shrink
        maps.append(("bottom conv", s))
    for level in reversed(range(depth)):
        s *= 2
        maps.append((f"up-convolution to level {level}", s))
        for _ in range(2):
            s -= shrink
            maps.append((f"decoder level {level} conv", s))
    if any(side < 1 for _, side in maps):
        return None
    return maps


def unet_output_size(size: int, depth: int, padding: str) -> int | None:
    """The output side, or None where the size (or depth, or padding) is illegal."""
    maps = unet_maps(size, depth, padding)
    return None if maps is None else maps[-1][1]


def legal_sizes(depth: int, padding: str, low: int, high: int) -> list[int]:
    return [n for n in range(low, high + 1) if unet_output_size(n, depth, padding) is not None]


# ---------------------------------------------------------------- the network

def _block(in_channels: int, out_channels: int, padding: str) -> nn.Sequential:
    p = PADDINGS[padding]
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=p), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, padding=p), nn.ReLU())


class UNet(nn.Module):
    """Ronneberger et al. (2015), the names of the task's contract; float64 by the checks."""

    def __init__(self, in_channels: int, num_classes: int, depth: int, base_channels: int, padding: str):
        super().__init__()
        c = [base_channels * 2 ** level for level in range(depth + 1)]
        self.padding = padding
        self.down = nn.ModuleList([_block(in_channels if level == 0 else c[level - 1], c[level], padding)
                                   for level in range(depth)])
        self.bottom = _block(c[depth - 1], c[depth], padding)
        self.up = nn.ModuleList([nn.ConvTranspose2d(c[level + 1], c[level], 2, stride=2) for level in range(depth)])
        self.decode = nn.ModuleList([_block(2 * c[level], c[level], padding) for level in range(depth)])
        self.head = nn.Conv2d(c[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for level in reversed(range(len(self.down))):
            x = self.up[level](x)
            skip = center_crop(skips[level], x.shape[-2], x.shape[-1])
            x = self.decode[level](torch.cat([skip, x], dim=1))
        return self.head(x)


def unet_state_shapes(in_channels: int, num_classes: int, depth: int, base_channels: int) -> dict:
    """The contract's state_dict: name -> shape (no buffers), built from the layers' own shapes."""
    net = torch.device("meta")
    with net:
        model = UNet(in_channels, num_classes, depth, base_channels, "same")
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def unet_param_count(in_channels: int, num_classes: int, depth: int, base_channels: int) -> int:
    """Layer by layer, in exact integers: (k*k*C_in + 1) * C_out per convolution."""
    c = [base_channels * 2 ** level for level in range(depth + 1)]

    def conv(k, cin, cout):
        return (k * k * cin + 1) * cout

    total = 0
    for level in range(depth + 1):                                   # encoder and bottom
        cin = in_channels if level == 0 else c[level - 1]
        total += conv(3, cin, c[level]) + conv(3, c[level], c[level])
    for level in range(depth):                                       # up-convolution and decoder
        total += conv(2, c[level + 1], c[level])
        total += conv(3, 2 * c[level], c[level]) + conv(3, c[level], c[level])
    return total + conv(1, c[0], num_classes)


def random_state(in_channels: int, num_classes: int, depth: int, base_channels: int, seed: int) -> dict:
    """float64 weights for the contract's names, from the seed: each layer's values scaled by
    1 / sqrt(fan_in), so that activations keep their size through any depth."""
    g = torch.Generator().manual_seed(int(seed))
    state = {}
    shapes = unet_state_shapes(in_channels, num_classes, depth, base_channels)
    for name, shape in shapes.items():
        weight = name.rsplit(".", 1)[0] + ".weight"
        w_shape = shapes[weight]
        # a 2x2 stride-2 up-convolution gives each output pixel one tap per input channel
        fan_in = w_shape[0] if name.startswith("up.") else w_shape[1] * w_shape[2] * w_shape[3]
        bound = (3.0 / fan_in) ** 0.5
        state[name] = (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound * (
            0.3 if name.endswith("bias") else 1.0)
    return state


def reference_unet(in_channels, num_classes, depth, base_channels, padding, state) -> UNet:
    net = UNet(in_channels, num_classes, depth, base_channels, padding).double()
    net.load_state_dict(state)
    return net.eval()


# ---------------------------------------------------------------- the metric

def dice(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """2 |P and T| / (|P| + |T|) over every pixel of every image together (1 when both are empty)."""
    p, t = pred.bool(), truth.bool()
    denominator = int(p.sum()) + int(t.sum())
    return 1.0 if denominator == 0 else 2.0 * int((p & t).sum()) / denominator
