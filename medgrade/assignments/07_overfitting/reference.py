"""The references of 07_overfitting's checks, computed in float64 with the libraries' own implementations
(torch.nn.Dropout, torch.optim.SGD, Adam and AdamW, torchvision's masks_to_boxes), or, where the library
is what the task replaces, a slow and obvious version."""
from __future__ import annotations

import torch
from torchvision.ops import masks_to_boxes


def torch_kept_fraction(shape, p: float, seed: int) -> float:
    """The fraction of elements nn.Dropout keeps on an input of ``shape`` (the global RNG, forked)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = torch.nn.Dropout(p)(torch.ones(shape, dtype=torch.float64))
    return (out != 0).double().mean().item()


def sgd_with_weight_decay(w0, xs, ys, case):
    """The weights after ``case['steps']`` steps of torch.optim.SGD(weight_decay=λ) on the mean squared
    error of a linear model (no penalty in the loss)."""
    w = w0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=case["lr"], momentum=case["momentum"], nesterov=case["nesterov"],
                          weight_decay=case["weight_decay"])
    for _ in range(case["steps"]):
        opt.zero_grad()
        ((xs @ w - ys) ** 2).mean().backward()
        opt.step()
    return w.detach()


def adam_l2_and_adamw(w0, grads, case):
    """(Adam with weight_decay: the L2 gradient λw added to g, AdamW: decay decoupled from the update),
    both by torch.optim on the given gradient sequence."""
    out = []
    for kind in (torch.optim.Adam, torch.optim.AdamW):
        w = w0.clone().requires_grad_(True)
        opt = kind([w], lr=case["lr"], betas=case["betas"], eps=case["eps"], weight_decay=case["weight_decay"])
        for g in grads:
            w.grad = g.clone()
            opt.step()
        out.append(w.detach())
    return tuple(out)


def _quarter_turn(box, w):
    """One counter-clockwise quarter turn (torch.rot90 with k = 1) of an xyxy box in an image of width w."""
    x1, y1, x2, y2 = box
    return [y1, w - x2, y2, w - x1]


def augment_one(image, mask, boxes, op):
    """A slow and obvious version: one box at a time, one quarter turn at a time."""
    h, w = image.shape[-2:]
    out = []
    name = op[0]
    if name == "hflip":
        out = [[w - b[2], b[1], w - b[0], b[3]] for b in boxes.tolist()]
        return torch.flip(image, dims=[-1]), torch.flip(mask, dims=[-1]), _boxes(out, boxes)
    if name == "vflip":
        out = [[b[0], h - b[3], b[2], h - b[1]] for b in boxes.tolist()]
        return torch.flip(image, dims=[-2]), torch.flip(mask, dims=[-2]), _boxes(out, boxes)
    if name == "rot90":
        k = op[1] % 4
        out = boxes.tolist()
        for _ in range(k):
            out = [_quarter_turn(b, w) for b in out]
            h, w = w, h
        return torch.rot90(image, k, dims=(-2, -1)), torch.rot90(mask, k, dims=(-2, -1)), _boxes(out, boxes)
    top, left, height, width = op[1:]
    for b in boxes.tolist():
        c = [min(max(b[0] - left, 0), width), min(max(b[1] - top, 0), height),
             min(max(b[2] - left, 0), width), min(max(b[3] - top, 0), height)]
        if c[2] > c[0] and c[3] > c[1]:
            out.append(c)
    return image[..., top:top + height, left:left + width], mask[top:top + height, left:left + width], \
        _boxes(out, boxes)


def augment(image, mask, boxes, ops):
    for op in ops:
        image, mask, boxes = augment_one(image, mask, boxes, op)
    return image, mask, boxes


def _boxes(rows, like):
    return torch.tensor(rows, dtype=like.dtype).reshape(-1, 4)


def boxes_of_labels(labels: torch.Tensor, count: int) -> torch.Tensor:
    """The xyxy box (pixel edges: x2 = last column + 1) of each label 1..count present in ``labels``,
    by torchvision's masks_to_boxes (which gives the last column itself)."""
    present = [i for i in range(1, count + 1) if bool((labels == i).any())]
    if not present:
        return torch.zeros((0, 4), dtype=torch.float64)
    boxes = masks_to_boxes(torch.stack([labels == i for i in present])).double()
    return boxes + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
