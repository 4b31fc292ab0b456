"""27_distributed: Distributed training: sharding, gradient averaging, DDP, accumulation, mixed precision."""
