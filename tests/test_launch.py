"""The DDP assignment's launchers (medimg.launch): the solved notebook's setup and answer cells
written to a module and started with ``torchrun --nproc_per_node=2`` (``torchrun``: a free port,
gloo), as the notebook does; ``run_ranks``, which the notebook's visible tests use (each rank's
value back, the failing rank's error, the time limit); and ``write_script`` copying whole cells."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from medgrade import assignments
from medgrade.notebook import submission_cells
from medimg.data import lesion_patches
from medimg.launch import run_ranks, torchrun
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


# ---------------------------------------------------------------- run_ranks

_HEADER = """
import os
import time
from datetime import timedelta

import torch
import torch.distributed as dist
"""


def _sum_of_ranks():
    """A rank: joins with env://, all-reduces rank + 1; returns the sum and what torchrun's
    environment told it."""
    dist.init_process_group("gloo", timeout=timedelta(seconds=30))
    try:
        total = torch.tensor([dist.get_rank() + 1.0], dtype=torch.float64)
        dist.all_reduce(total)
        return total, int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    finally:
        dist.destroy_process_group()


def _rank_1_raises():
    dist.init_process_group("gloo", timeout=timedelta(seconds=30))
    try:
        if dist.get_rank() == 1:
            raise ValueError("rank 1's own error")
        dist.all_reduce(torch.ones(1))
    finally:
        dist.destroy_process_group()


def _rank_1_never_comes():
    if os.environ["RANK"] == "1":
        time.sleep(60)
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))


def test_run_ranks_returns_what_each_rank_returns():
    results = run_ranks(_sum_of_ranks, nproc=3, header=_HEADER, timeout=60)
    assert [(float(total), rank, world) for total, rank, world in results] == [(6.0, 0, 3), (6.0, 1, 3), (6.0, 2, 3)]
    assert all(total.dtype == torch.float64 for total, _, _ in results)


def test_run_ranks_shows_the_failing_ranks_error_and_stops_at_the_time_limit():
    with pytest.raises(RuntimeError, match="rank 1 of 2 failed") as failed:
        run_ranks(_rank_1_raises, nproc=2, header=_HEADER, timeout=60)
    assert "ValueError: rank 1's own error" in str(failed.value)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="ranks 0, 1 of 2 still running after 3 s"):
        run_ranks(_rank_1_never_comes, nproc=2, header=_HEADER, timeout=3)
    assert time.monotonic() - start < 20


# ---------------------------------------------------------------- write_script

_NOTEBOOK = textwrap.dedent("""
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    from medimg.launch import write_script

    shell = InteractiveShell.instance()
    shell.run_cell("import math\\nSCALE = 3\\n\\ndef helper(v):\\n    return SCALE * v\\n\\n"
                   "def answer(v):\\n    return helper(math.sqrt(v))\\n")
    shell.run_cell("def check():\\n    return answer(4.0)\\n")
    ns = shell.user_ns
    write_script(sys.argv[1], [ns["check"]], cells=[ns["answer"], ns["helper"]], entry=None)
    write_script(sys.argv[2], [ns["check"], ns["answer"]], entry=None)
""")


def test_write_script_copies_the_whole_cells_of_a_notebook(tmp_path):
    """cells=: the whole cell (its import, constant and helper too, once though two of its
    functions are named); functions=: the function alone."""
    whole, alone = tmp_path / "whole.py", tmp_path / "alone.py"
    subprocess.run([sys.executable, "-c", _NOTEBOOK, str(whole), str(alone)], check=True, timeout=120)
    text = whole.read_text()
    assert text.count("def helper(") == 1 and "SCALE = 3" in text and "import math" in text
    namespace: dict = {}
    exec(compile(text, str(whole), "exec"), namespace)
    assert namespace["check"]() == 6.0
    assert "def helper(" not in alone.read_text() and "def answer(" in alone.read_text()
