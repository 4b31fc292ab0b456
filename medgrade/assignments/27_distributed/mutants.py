"""Mutants of 27_distributed."""
from medgrade.mutants import Mutant

UNSHUFFLED = "shard_indices_unshuffled"
SHUFFLED = "shard_indices_shuffled"
BF16 = "amp_step_bfloat16_cpu"
SCALER = "amp_step_grad_scaler"
AMP_SPEED = "amp_step_faster_on_cuda"

_AUTOCAST_BLOCK = ("    with torch.autocast(x.device.type, dtype=dtype):\n"
                   "        loss = F.cross_entropy(model(x), y)\n")

MUTANTS = [
    # ---------------------------------------------------------------- shard_indices
    Mutant("shard_pads_with_last_index", "shard_indices",
           (("order = (order * math.ceil(total / len(order)))[:total]",
             "order = order + [order[-1]] * (total - len(order))"),),
           breaks=(UNSHUFFLED, SHUFFLED), keeps=("train_ddp_matches_single_process", "train_ddp_rendezvous"),
           why="pads by repeating the last index instead of the list from its start"),
    Mutant("shard_pads_once", "shard_indices",
           (("order = (order * math.ceil(total / len(order)))[:total]",
             "order = order + order[:total - len(order)]"),),
           breaks=(UNSHUFFLED, SHUFFLED),
           why="pads with one copy of the start: too short when the data set is smaller than the padding"),
    Mutant("shard_contiguous_blocks", "shard_indices",
           (("return order[rank::world_size]", "return order[rank * per_rank:(rank + 1) * per_rank]"),),
           breaks=(UNSHUFFLED, SHUFFLED),
           why="gives each rank a contiguous block instead of every world_size-th index"),
    Mutant("shard_drop_last_ignored", "shard_indices",
           (("    if drop_last:\n", "    if drop_last and dataset_size >= world_size:\n"),
            ("        order = order[:per_rank * world_size]\n",
             "        order = order[:per_rank * world_size] if dataset_size % world_size == 0 else order\n"
             "        per_rank = math.ceil(len(order) / world_size)\n")),
           breaks=(UNSHUFFLED,),
           why="with drop_last keeps the tail (ranks get unequal lengths) instead of trimming it"),
    Mutant("shard_no_rank_check", "shard_indices",
           (("    if world_size < 1 or not 0 <= rank < world_size:\n"
             "        raise ValueError(f\"rank {rank} is not in [0, {world_size - 1}]\")\n", ""),),
           breaks=(UNSHUFFLED,), keeps=(SHUFFLED,),
           why="does not validate the rank: an out-of-range rank gets an empty list or another rank's shard"),
    Mutant("shard_seed_ignores_epoch", "shard_indices",
           (("generator.manual_seed(seed + epoch)", "generator.manual_seed(seed)"),),
           breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="the same order every epoch (forgetting set_epoch)"),
    Mutant("shard_seed_per_rank", "shard_indices",
           (("generator.manual_seed(seed + epoch)", "generator.manual_seed(seed + epoch + rank)"),),
           breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="each rank shuffles with its own seed: the shards overlap and miss samples"),
    Mutant("shard_python_random_shuffle", "shard_indices",
           (("        generator = torch.Generator()\n"
             "        generator.manual_seed(seed + epoch)\n"
             "        order = torch.randperm(dataset_size, generator=generator).tolist()\n",
             "        import random\n"
             "        order = list(range(dataset_size))\n"
             "        random.Random(seed + epoch).shuffle(order)\n"),),
           breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="a seeded shuffle, but Python's and not torch.randperm: not the sampler's order"),
    # honest alternatives
    Mutant("shard_global_seed_and_loop_padding", "shard_indices",
           (("        generator = torch.Generator()\n"
             "        generator.manual_seed(seed + epoch)\n"
             "        order = torch.randperm(dataset_size, generator=generator).tolist()\n",
             "        state = torch.get_rng_state()\n"
             "        torch.manual_seed(seed + epoch)\n"
             "        order = torch.randperm(dataset_size).tolist()\n"
             "        torch.set_rng_state(state)\n"),
            ("        if order:\n"
             "            order = (order * math.ceil(total / len(order)))[:total]\n",
             "        start = list(order)\n"
             "        while start and len(order) < total:\n"
             "            order.extend(start[:total - len(order)])\n")),
           breaks=(), keeps=(UNSHUFFLED, SHUFFLED),
           why="honest: seeds the global generator (and restores it), pads in a loop"),
    Mutant("shard_sampler_formulas", "shard_indices",
           (("        per_rank = dataset_size // world_size\n",
             "        per_rank = (math.ceil((dataset_size - world_size) / world_size)\n"
             "                    if dataset_size % world_size else dataset_size // world_size)\n"),
            ("return order[rank::world_size]",
             "return [order[i] for i in range(rank, len(order), world_size)]")),
           breaks=(), keeps=(UNSHUFFLED, SHUFFLED),
           why="honest: DistributedSampler's own length formula, a comprehension for the stride"),
    # ---------------------------------------------------------------- amp_step
    Mutant("amp_without_autocast", "amp_step",
           (("    with torch.autocast(x.device.type, dtype=dtype):\n",
             "    with contextlib.nullcontext():\n"),),
           breaks=(BF16, SCALER),
           why="a plain float32 step: no mixed precision at all"),
    Mutant("amp_float16_on_cpu", "amp_step",
           (("dtype = torch.bfloat16 if x.device.type == \"cpu\" else torch.float16", "dtype = torch.float16"),),
           breaks=(BF16, SCALER),
           why="float16 autocast on CPU, where the course (and CPU autocast) use bfloat16"),
    Mutant("amp_model_cast_to_bfloat16", "amp_step",
           ((_AUTOCAST_BLOCK,
             "    model.to(dtype)\n"
             "    loss = F.cross_entropy(model(x.to(dtype)), y)\n"),),
           breaks=(BF16,),
           why="converts the model to bfloat16: no float32 master weights, small updates are rounded away"),
    Mutant("amp_no_zero_grad", "amp_step",
           (("    optimizer.zero_grad(set_to_none=True)\n", ""),),
           breaks=(BF16, SCALER),
           why="never zeroes the gradients: each step adds the old gradients to the new ones"),
    Mutant("amp_scaler_step_without_unscale", "amp_step",
           (("        scaler.step(optimizer)\n", "        optimizer.step()\n"),),
           breaks=(SCALER,), keeps=(BF16,),
           why="steps the optimizer on the scaled gradients: an update scale times too large, no skip on overflow"),
    Mutant("amp_scaler_not_updated", "amp_step",
           (("        scaler.update()\n", ""),),
           breaks=(SCALER,), keeps=(BF16,),
           why="never calls scaler.update(): the scale never falls after an overflow nor grows"),
    Mutant("amp_scaler_ignored_on_cpu", "amp_step",
           (("    if scaler is None:\n", "    if scaler is None or x.device.type == \"cpu\":\n"),),
           breaks=(SCALER,), keeps=(BF16,),
           why="ignores the GradScaler it was given on CPU: no skipped step on overflow, the scale never moves"),
    Mutant("amp_fp32_on_cuda", "amp_step",
           (("    with torch.autocast(x.device.type, dtype=dtype):\n",
             "    with torch.autocast(x.device.type, dtype=dtype, enabled=x.device.type == \"cpu\"):\n"),),
           breaks=(AMP_SPEED,), keeps=(BF16, SCALER),
           why="mixed precision on CPU only: on CUDA a float32 step, no faster than the reference"),
    # honest alternatives
    Mutant("amp_loss_outside_autocast", "amp_step",
           ((_AUTOCAST_BLOCK,
             "    with torch.amp.autocast(device_type=x.device.type, dtype=dtype):\n"
             "        logits = model(x)\n"
             "    loss = F.cross_entropy(logits.float(), y)\n"),),
           breaks=(), keeps=(BF16, SCALER),
           why="honest: only the forward under autocast, the loss in float32 outside it"),
    Mutant("amp_grads_to_none_by_hand", "amp_step",
           (("    optimizer.zero_grad(set_to_none=True)\n",
             "    for group in optimizer.param_groups:\n"
             "        for p in group[\"params\"]:\n"
             "            p.grad = None\n"),
            ("        loss.backward()\n        optimizer.step()\n",
             "        torch.autograd.backward(loss)\n        optimizer.step()\n")),
           breaks=(), keeps=(BF16, SCALER),
           why="honest: clears the gradients through the optimizer's groups, backward spelled differently"),
]

DEMO = ("shard_contiguous_blocks", "amp_scaler_step_without_unscale")

# ---------------------------------------------------------------- the multi-rank tasks
AVG = "average_gradients_correct"
TRAIN = "train_ddp_matches_single_process"
RDV = "train_ddp_rendezvous"
ACC = "accumulate_gradients_correct"
NO_SYNC = "accumulate_gradients_no_sync"
_INIT = '    dist.init_process_group("gloo", timeout=timedelta(seconds=timeout_s))\n'

MUTANTS += [
    Mutant("average_sums_without_dividing", "average_gradients",
           (("        p.grad.div_(world)\n", ""),), breaks=(AVG,),
           why="all_reduce sums: without the division every rank steps world_size times too far"),
    Mutant("average_divides_by_two", "average_gradients",
           (("        p.grad.div_(world)\n", "        p.grad.div_(2)\n"),), breaks=(AVG,),
           why="written for two GPUs: wrong on any other world size"),
    Mutant("average_reduces_a_copy", "average_gradients",
           (("        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad.div_(world)\n",
             "        dist.all_reduce(p.grad / world, op=dist.ReduceOp.SUM)\n"),), breaks=(AVG,),
           why="all-reduces a temporary (p.grad / world): the gradient itself never changes"),
    Mutant("average_reduces_to_rank_0", "average_gradients",
           (("        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n",
             "        dist.reduce(p.grad, dst=0, op=dist.ReduceOp.SUM)\n"),), breaks=(AVG,),
           why="reduce instead of all_reduce: only rank 0 gets the sum, the other ranks drift apart"),
    Mutant("average_forgets_frozen_parameters", "average_gradients",
           (("        if p.grad is None:\n            continue\n", ""),), breaks=(AVG,),
           why="a frozen parameter has no gradient: all_reduce(None) raises"),
    Mutant("average_by_average_op_name", "average_gradients",
           (("        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad.div_(world)\n",
             "        total = p.grad.clone()\n        dist.all_reduce(total)\n        p.grad = total / world\n"),),
           breaks=(), keeps=(AVG,),
           why="honest: reduces a copy and assigns a new gradient tensor"),

    Mutant("train_without_ddp", "train_ddp",
           (("        ddp_model = DistributedDataParallel(model)\n", "        ddp_model = model\n"),), breaks=(TRAIN,),
           keeps=(RDV,), why="no DistributedDataParallel: each rank descends its own shard, the ranks drift apart"),
    Mutant("train_same_shuffle_every_epoch", "train_ddp",
           (("seed=seed, epoch=epoch)", "seed=seed, epoch=0)"),), breaks=(TRAIN,), keeps=(RDV,),
           why="forgets set_epoch: every epoch visits the data in the first epoch's order"),
    Mutant("train_every_rank_on_all_data", "train_ddp",
           (("            idx = shard_indices(len(x), world, rank, shuffle=True, seed=seed, epoch=epoch)\n",
             "            idx = shard_indices(len(x), 1, 0, shuffle=True, seed=seed, epoch=epoch)\n"),),
           breaks=(TRAIN,), keeps=(RDV,),
           why="no sharding: every rank trains on the whole data set, the global batch is not what one "
               "process on the full batch sees"),
    Mutant("train_scales_lr_by_world", "train_ddp",
           (("SGD(ddp_model.parameters(), lr=lr)", "SGD(ddp_model.parameters(), lr=lr * world)"),),
           breaks=(TRAIN,), keeps=(RDV,),
           why="the linear scaling rule applied to a loop that must match one process step for step"),
    Mutant("train_hard_coded_port", "train_ddp",
           ((_INIT, '    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29533",\n'
                    '                            rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]),\n'
                    '                            timeout=timedelta(seconds=timeout_s))\n'),),
           breaks=(TRAIN, RDV),
           why="a rendezvous address of its own: the ranks meet on a port the launcher did not give them"),
    Mutant("train_ignores_timeout", "train_ddp",
           ((_INIT, '    dist.init_process_group("gloo")\n'),), breaks=(RDV,), keeps=(TRAIN,),
           why="the default collective timeout (30 minutes): a rank whose partner never starts waits forever"),
    Mutant("train_keeps_process_group", "train_ddp",
           (("        dist.destroy_process_group()\n", "        pass\n"),), breaks=(RDV,), keeps=(TRAIN,),
           why="never destroys the process group: the next init_process_group in the process fails"),
    Mutant("train_rank_1_hangs", "train_ddp",
           (("        ddp_model = DistributedDataParallel(model)\n",
             "        ddp_model = DistributedDataParallel(model)\n"
             "        if rank == 1:\n            import time\n            time.sleep(3600)\n"),), breaks=(TRAIN, RDV),
           why="one rank never reaches the first all-reduce: the other waits for it"),

    Mutant("accumulate_syncs_every_micro_batch", "accumulate_gradients",
           (("        sync = contextlib.nullcontext() if i == k - 1 else ddp_model.no_sync()\n",
             "        sync = contextlib.nullcontext()\n"),), breaks=(NO_SYNC,), keeps=(ACC,),
           why="no no_sync: the same gradients, with k all-reduces instead of one"),
    Mutant("accumulate_without_dividing", "accumulate_gradients",
           (("            loss = F.cross_entropy(ddp_model(x), y) / k\n",
             "            loss = F.cross_entropy(ddp_model(x), y)\n"),), breaks=(ACC, NO_SYNC),
           why="sums the micro-batch losses: k times the big batch's gradient"),
    Mutant("accumulate_never_syncs", "accumulate_gradients",
           (("        sync = contextlib.nullcontext() if i == k - 1 else ddp_model.no_sync()\n",
             "        sync = ddp_model.no_sync()\n"),), breaks=(ACC, NO_SYNC),
           why="no_sync around every micro-batch, the last one too: the ranks never exchange gradients"),
    Mutant("accumulate_keeps_only_the_last", "accumulate_gradients",
           (("        with sync:\n", "        ddp_model.zero_grad()\n        with sync:\n"),), breaks=(ACC, NO_SYNC),
           why="zeroes the gradients before every micro-batch: only the last micro-batch counts"),
]

_SHUFFLE = ("        generator = torch.Generator()\n"
            "        generator.manual_seed(seed + epoch)\n"
            "        order = torch.randperm(dataset_size, generator=generator).tolist()\n")
_BEGIN = "    ### BEGIN SOLUTION\n"

MUTANTS += [
    Mutant("shard_sampler_methods_kept_aside", "shard_indices",
           (("def shard_indices(",
             "from torch.utils.data.distributed import DistributedSampler as _DS\n"
             "_INIT, _ITER = _DS.__init__, _DS.__iter__\n\n\ndef shard_indices("),
            (_BEGIN, _BEGIN + "    if world_size >= 1 and 0 <= rank < world_size:\n"
                              "        sampler = object.__new__(_DS)\n"
                              "        _INIT(sampler, range(dataset_size), num_replicas=world_size, rank=rank,\n"
                              "              shuffle=shuffle, seed=seed, drop_last=drop_last)\n"
                              "        sampler.epoch = epoch\n"
                              "        return [int(i) for i in _ITER(sampler)]\n")),
           breaks=(UNSHUFFLED, SHUFFLED),
           why="the library under another name: DistributedSampler's methods taken before the call"),
    Mutant("shard_sampler_module_reloaded", "shard_indices",
           ((_BEGIN, _BEGIN + "    if world_size >= 1 and 0 <= rank < world_size:\n"
                              "        import importlib\n"
                              "        import torch.utils.data.distributed as sampler_module\n"
                              "        fresh = importlib.reload(sampler_module).DistributedSampler\n"
                              "        sampler = fresh(range(dataset_size), num_replicas=world_size, rank=rank,\n"
                              "                        shuffle=shuffle, seed=seed, drop_last=drop_last)\n"
                              "        sampler.set_epoch(epoch)\n"
                              "        return [int(i) for i in sampler]\n"),),
           breaks=(UNSHUFFLED, SHUFFLED),
           why="the library under another name: a reloaded copy of DistributedSampler's module"),
    Mutant("shard_default_without_shuffle", "shard_indices",
           (("*, shuffle=True,", "*, shuffle=False,"),), breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="shuffle defaults to False: train loops that rely on the sampler's default never shuffle"),
    Mutant("shard_seeds_global_generator", "shard_indices",
           ((_SHUFFLE, "        torch.manual_seed(seed + epoch)\n"
                       "        order = torch.randperm(dataset_size).tolist()\n"),),
           breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="the right order, but it reseeds torch's global generator (and so the training's dropout, "
               "augmentation, ...) every epoch"),
    Mutant("average_world_size_from_environment", "average_gradients",
           (("    world = dist.get_world_size()\n", "    world = int(os.environ.get(\"WORLD_SIZE\", 1))\n"),),
           breaks=(AVG,),
           why="the world size from the launcher's environment, not from the process group"),
    Mutant("average_one_flat_buffer", "average_gradients",
           (("    for p in model.parameters():\n        if p.grad is None:\n            continue\n"
             "        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad.div_(world)\n",
             "    grads = [p.grad for p in model.parameters() if p.grad is not None]\n"
             "    flat = torch.cat([g.reshape(-1) for g in grads])\n"
             "    dist.all_reduce(flat)\n"
             "    flat /= world\n"
             "    start = 0\n"
             "    for g in grads:\n"
             "        g.copy_(flat[start:start + g.numel()].view_as(g))\n"
             "        start += g.numel()\n"),),
           breaks=(), keeps=(AVG,),
           why="honest: one all-reduce of all the gradients flattened into one buffer"),
    Mutant("train_group_left_on_error", "train_ddp",
           (("    try:\n        rank, world", "    if True:\n        rank, world"),
            ("        return losses\n    finally:\n        dist.destroy_process_group()\n",
             "        dist.destroy_process_group()\n        return losses\n")),
           breaks=(RDV,), keeps=(TRAIN,),
           why="destroys the process group only when training succeeds: after an error the group stays"),
]

# ---------------------------------------------------------------- the contracts the docstrings state
# (a list of Python ints; the dtype of the given model and data; errors leave train_ddp)
MUTANTS += [
    Mutant("shard_tensor_elements", "shard_indices",
           (("        order = torch.randperm(dataset_size, generator=generator).tolist()\n",
             "        order = list(torch.randperm(dataset_size, generator=generator))\n"),),
           breaks=(SHUFFLED,), keeps=(UNSHUFFLED,),
           why="list() of a tensor: the right order, but its elements are 0-d tensors, not Python ints"),
    Mutant("average_through_float32", "average_gradients",
           (("        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad.div_(world)\n",
             "        buffer = p.grad.float()\n"
             "        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)\n"
             "        p.grad.copy_(buffer / world)\n"),),
           breaks=(AVG,),
           why="reduces a float32 copy of float64 gradients: the mean is rounded to float32"),
    Mutant("train_casts_to_float32", "train_ddp",
           (("        rank, world = dist.get_rank(), dist.get_world_size()\n",
             "        rank, world = dist.get_rank(), dist.get_world_size()\n"
             "        model.float()\n"
             "        x = x.float()\n"),),
           breaks=(TRAIN,), keeps=(RDV,),
           why="a defensive .float(): a float64 model and its data are trained in float32"),
    Mutant("train_swallows_errors", "train_ddp",
           (("    finally:\n        dist.destroy_process_group()\n",
             "    except Exception as error:\n"
             "        print(f\"rank {dist.get_rank()}: training failed: {error}\")\n"
             "        return []\n"
             "    finally:\n        dist.destroy_process_group()\n"),),
           breaks=(RDV,), keeps=(TRAIN,),
           why="catches a failing step and returns: the caller never learns that training failed"),
    Mutant("accumulate_casts_inputs_to_float32", "accumulate_gradients",
           (("            loss = F.cross_entropy(ddp_model(x), y) / k\n",
             "            loss = F.cross_entropy(ddp_model(x.float()), y) / k\n"),),
           breaks=(ACC, NO_SYNC),
           why="a defensive .float() on the inputs of a float64 model: the forward pass fails"),
]
