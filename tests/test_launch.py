"""The DDP assignment's training script under the real launcher: the solved notebook's setup
and answer cells written to a module and started with ``torchrun --nproc_per_node=2``
(``medimg.launch.torchrun``: a free port, gloo), as the notebook does."""
from __future__ import annotations

import subprocess

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medgrade import assignments
from medgrade.notebook import submission_cells
from medimg.data import lesion_patches
from medimg.launch import torchrun
from tests.conftest import load_notebook

REFERENCE = assignments.part("27_distributed", "reference")


def _one_process(epochs=5, batch=16, lr=0.05, world=2) -> dict:
    """What main() trains, in one process on the union of the two ranks' batches."""
    images, labels = lesion_patches(256, malignant_fraction=0.5, size=16, seed=0)
    x = images.flatten(1)
    x = (x - x.mean()) / x.std()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(x.shape[1], 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for epoch in range(epochs):
        shards = [REFERENCE.distributed_sampler_indices(len(x), world, r, True, 0, epoch, False) for r in range(world)]
        for s in range(0, len(shards[0]), batch):
            idx = torch.tensor([i for shard in shards for i in shard[s:s + batch]])
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), labels[idx]).backward()
            opt.step()
    return net.state_dict()


@pytest.mark.slow
def test_main_under_torchrun_matches_one_process(tmp_path):
    cells = submission_cells(load_notebook("solutions", "27_distributed"))
    script = tmp_path / "ddp_train.py"
    script.write_text("\n\n".join(cells) + '\n\nif __name__ == "__main__":\n    main()\n')
    weights = tmp_path / "weights.pt"
    output = torchrun(script, nproc=2, args=[str(weights)], timeout=180, echo=False)
    assert "rank 0 of 2" in output, output
    got = torch.load(weights)
    worst = max((got[k] - v).abs().max().item() for k, v in _one_process().items())
    assert worst < 1e-5, worst
    left = subprocess.run(["pgrep", "-f", str(script)], capture_output=True, text=True).stdout
    assert not left.strip(), "a rank outlived torchrun"
