"""Objects the checks send into a grading worker: transforms and small instrumented networks.

They are unpickled in the worker, next to the student's code, so they live here, in a
module that imports torch and nothing of the grading package: the worker refuses to
import the modules that hold checks, references and input generators (see
:mod:`medgrade.worker`).
"""
from __future__ import annotations

import torch
from torch import nn


class Affine:
    """Maps [0, 1] to [-1, 1]: a transform the checks give a student's dataset."""

    def __call__(self, image):
        return 2 * image - 1


class Flip:
    """Mirrors the last axis."""

    def __call__(self, image):
        return torch.flip(image, dims=(-1,))


class ScriptedValidation(nn.Module):
    """Trains as a linear classifier; in eval mode its logits on any input give the cross-entropy
    ``script[i]`` for class 1, where i is the number of training forward passes so far."""

    def __init__(self, features: int, script: list[float]):
        super().__init__()
        self.linear = nn.Linear(features, 2).double()
        self.register_buffer("script", torch.tensor(script, dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training:
            if torch.is_grad_enabled():
                self.steps += 1
            return self.linear(x)
        loss = self.script[min(int(self.steps), len(self.script) - 1)]
        z = -torch.log(torch.expm1(loss))              # cross-entropy of [0, z] for class 1 is loss
        logits = torch.stack([torch.zeros(len(x), dtype=x.dtype), z.expand(len(x)).to(x.dtype)], 1)
        return logits + 0 * self.linear(x)


class OrderRecorder(nn.Module):
    """A linear classifier that records, in buffers, the sample ids (last input column) of every
    training forward pass and the size of each batch."""

    def __init__(self, features: int, capacity: int):
        super().__init__()
        self.linear = nn.Linear(features, 2).double()
        self.register_buffer("seen", torch.full((capacity,), -1, dtype=torch.int64))
        self.register_buffer("sizes", torch.zeros(capacity, dtype=torch.int64))
        self.register_buffer("filled", torch.zeros((), dtype=torch.int64))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training and torch.is_grad_enabled():
            ids = x[:, -1].detach().round().long()
            start, calls = int(self.filled), int(self.calls)
            end = min(start + len(ids), len(self.seen))
            self.seen[start:end] = ids[:end - start]
            if calls < len(self.sizes):
                self.sizes[calls] = len(ids)
            self.filled += len(ids)
            self.calls += 1
        return self.linear(x[:, :-1])


class CountingShift:
    """Adds the number of its earlier calls to the image: a stateful transform, so a dataset
    that transforms at construction time, or more than once per read, gives other values."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        out = image + self.calls
        self.calls += 1
        return out


class ModeSequential(nn.Sequential):
    """An nn.Sequential that records, in its buffer ``mode``, the mode (1 train, 0 eval) that the
    last ``train()`` / ``eval()`` call set."""

    def __init__(self, *layers):
        super().__init__(*layers)
        self.register_buffer("mode", torch.ones((), dtype=torch.int64))

    def train(self, mode: bool = True):
        out = super().train(mode)
        self.mode.fill_(int(bool(mode)))
        return out
