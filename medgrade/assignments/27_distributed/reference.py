"""The references of 27_distributed's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations


def distributed_sampler_indices(dataset_size: int, world_size: int, rank: int, shuffle: bool,
                                seed: int, epoch: int, drop_last: bool) -> list[int]:
    """What torch's DistributedSampler yields for range(dataset_size) in epoch ``epoch``."""
    from torch.utils.data.distributed import DistributedSampler
    sampler = DistributedSampler(range(dataset_size), num_replicas=world_size, rank=rank,
                                 shuffle=shuffle, seed=seed, drop_last=drop_last)
    sampler.set_epoch(epoch)
    return [int(i) for i in sampler]
