"""The references of 08_optimizers's checks: torch.optim's own optimizers (the single-tensor
implementation, foreach=False), stepped on clones of the parameters."""
from __future__ import annotations

import torch

CLASSES = {"sgd_step": "SGD", "adagrad_step": "Adagrad", "adadelta_step": "Adadelta",
           "rmsprop_step": "RMSprop", "adam_step": "Adam", "adamw_step": "AdamW"}


class TorchOptimizer:
    """torch.optim.<Name>(clones of params, **hyper), stepped with the gradients given per step."""

    def __init__(self, task: str, params: list[torch.Tensor], hyper: dict):
        self.params = [p.detach().clone().requires_grad_(True) for p in params]
        self.optimizer = getattr(torch.optim, CLASSES[task])(self.params, foreach=False, **hyper)

    def step(self, grads: list[torch.Tensor | None], lr: float | None = None) -> list[torch.Tensor]:
        """One step; ``lr``, if given, is set first (as a scheduler sets it between steps)."""
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        for p, g in zip(self.params, grads):
            p.grad = None if g is None else g.detach().clone()
        self.optimizer.step()
        return [p.detach().clone() for p in self.params]
