"""Known-wrong answers of 10_hyperparameters (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

STEP = "step_lr_values"
MULTI = "multistep_lr_values"
WARM = "warmup_cosine_lr_values"
CYCLE = "one_cycle_lr_values"
GRID = "grid_search_exact"
RANDOM = "random_search_contract"
BEATS = "random_search_beats_grid"
VALUES = "lr_range_test_values"
DIVERGE = "lr_range_test_divergence"
RESTORES = "lr_range_test_restores"

_ONE_CYCLE_PHASES = """    if three_phase:
        phases = [(float(pct_start * total_steps) - 1, initial, max_lr),
                  (float(2 * pct_start * total_steps) - 2, max_lr, initial),
                  (total_steps - 1, initial, min_lr)]
    else:
        phases = [(float(pct_start * total_steps) - 1, initial, max_lr),
                  (total_steps - 1, max_lr, min_lr)]
"""

MUTANTS = [
    # ---------------------------------------------------------------- step_lr
    Mutant("step_lr_counts_from_one", "step_lr",
           (("gamma ** (step // step_size)", "gamma ** ((step + 1) // step_size)"),),
           breaks=(STEP,),
           why="counts the steps from 1: the first decay comes one step early"),
    Mutant("step_lr_smooth_decay", "step_lr",
           (("gamma ** (step // step_size)", "gamma ** (step / step_size)"),),
           breaks=(STEP,),
           why="true division: a smooth exponential decay instead of a staircase"),
    Mutant("step_lr_uses_torch_scheduler", "step_lr",
           (("    return base_lr * gamma ** (step // step_size)\n",
             "    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)\n"
             "    sched = torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)\n"
             "    for _ in range(step):\n"
             "        opt.step()\n"
             "        sched.step()\n"
             "    return opt.param_groups[0]['lr']\n"),),
           breaks=(STEP,),
           why="steps torch's StepLR, which the exercise refuses"),
    Mutant("step_lr_with_math_pow", "step_lr",
           (("    return base_lr * gamma ** (step // step_size)\n",
             "    return base_lr * math.pow(gamma, math.floor(step / step_size))\n"),),
           breaks=(), keeps=(STEP,),
           why="honest: math.pow and math.floor"),
    # ---------------------------------------------------------------- multistep_lr
    Mutant("multistep_lr_strictly_after_milestone", "multistep_lr",
           (("if m <= step", "if m < step"),),
           breaks=(MULTI,),
           why="decays one step after each milestone instead of at it"),
    Mutant("multistep_lr_decays_once", "multistep_lr",
           (("    return base_lr * gamma ** sum(1 for m in milestones if m <= step)\n",
             "    return base_lr * (gamma if any(m <= step for m in milestones) else 1.0)\n"),),
           breaks=(MULTI,),
           why="multiplies by gamma once after the first milestone, not once per milestone passed"),
    Mutant("multistep_lr_counting_loop", "multistep_lr",
           (("    return base_lr * gamma ** sum(1 for m in milestones if m <= step)\n",
             "    lr = base_lr\n    for m in milestones:\n        if step >= m:\n            lr *= gamma\n    return lr\n"),),
           breaks=(), keeps=(MULTI,),
           why="honest: a loop that multiplies by gamma per milestone passed"),
    Mutant("multistep_lr_ignores_repeated_milestone", "multistep_lr",
           (("sum(1 for m in milestones if m <= step)", "len({m for m in milestones if m <= step})"),),
           breaks=(MULTI,),
           why="counts the distinct milestones passed: a milestone listed twice decays once, torch decays twice"),
    # ---------------------------------------------------------------- warmup_cosine_lr
    Mutant("warmup_cosine_period_is_total_steps", "warmup_cosine_lr",
           (("progress = (step - warmup_steps) / (total_steps - warmup_steps)",
             "progress = (step - warmup_steps) / total_steps"),),
           breaks=(WARM,),
           why="T_max = total_steps: the cosine has not reached eta_min when training ends"),
    Mutant("warmup_cosine_warmup_from_zero", "warmup_cosine_lr",
           (("base_lr * (start_factor + (1.0 - start_factor) * step / warmup_steps)",
             "base_lr * step / warmup_steps"),),
           breaks=(WARM,),
           why="warms up from 0 whatever start_factor says: the first step has learning rate 0"),
    Mutant("warmup_cosine_ignores_eta_min", "warmup_cosine_lr",
           (("return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * progress)) / 2",
             "return base_lr * (1.0 + math.cos(math.pi * progress)) / 2"),),
           breaks=(WARM,),
           why="anneals to 0 instead of eta_min"),
    Mutant("warmup_cosine_warmup_includes_peak", "warmup_cosine_lr",
           (("if step < warmup_steps:", "if step <= warmup_steps:"),),
           breaks=(), keeps=(WARM,),
           why="honest: the warm-up formula at step warmup_steps gives base_lr, as the cosine does"),
    # ---------------------------------------------------------------- one_cycle_lr
    Mutant("one_cycle_phase_ends_without_minus_one", "one_cycle_lr",
           ((_ONE_CYCLE_PHASES, _ONE_CYCLE_PHASES.replace(" - 1, initial, max_lr", ", initial, max_lr")
             .replace(" - 2, max_lr", " - 1, max_lr")),),
           breaks=(CYCLE,),
           why="ends the warm-up phase at pct_start * total_steps, one step later than torch"),
    Mutant("one_cycle_min_lr_from_max_lr", "one_cycle_lr",
           (("min_lr = initial / final_div_factor", "min_lr = max_lr / final_div_factor"),),
           breaks=(CYCLE,),
           why="divides max_lr, not the initial rate, by final_div_factor"),
    Mutant("one_cycle_linear_annealing", "one_cycle_lr",
           (("return lr_to + (lr_from - lr_to) / 2 * (1 + math.cos(math.pi * p))",
             "return lr_from + (lr_to - lr_from) * p"),),
           breaks=(CYCLE,),
           why="anneals linearly (anneal_strategy='linear') instead of along a cosine"),
    Mutant("one_cycle_ignores_three_phase", "one_cycle_lr",
           ((_ONE_CYCLE_PHASES, """    phases = [(float(pct_start * total_steps) - 1, initial, max_lr),
              (total_steps - 1, max_lr, min_lr)]
"""),),
           breaks=(CYCLE,),
           why="always two phases: three_phase=True is ignored"),
    Mutant("one_cycle_explicit_phases", "one_cycle_lr",
           ((_ONE_CYCLE_PHASES + """    start = 0
    for i, (end, lr_from, lr_to) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            p = (step - start) / (end - start)
            return lr_to + (lr_from - lr_to) / 2 * (1 + math.cos(math.pi * p))
        start = end
""", """    def anneal(a, b, p):
        return b + (a - b) * (1 + math.cos(math.pi * p)) / 2

    up_end = float(pct_start * total_steps) - 1
    if step <= up_end:
        return anneal(initial, max_lr, step / up_end)
    if three_phase:
        down_end = float(2 * pct_start * total_steps) - 2
        if step <= down_end:
            return anneal(max_lr, initial, (step - up_end) / (down_end - up_end))
        return anneal(initial, min_lr, (step - down_end) / (total_steps - 1 - down_end))
    return anneal(max_lr, min_lr, (step - up_end) / (total_steps - 1 - up_end))
"""),),
           breaks=(), keeps=(CYCLE,),
           why="honest: one branch per phase, the cosine factor written the other way round"),
    # ---------------------------------------------------------------- grid_search
    Mutant("grid_search_float_root", "grid_search",
           (("k = round(budget ** (1 / d))", "k = int(budget ** (1 / d))"),),
           breaks=(GRID,),
           why="int(64 ** (1 / 3)) is 3: a valid budget of 64 in 3 dimensions is refused"),
    Mutant("grid_search_with_end_points", "grid_search",
           (("[[low + (i + 0.5) * (high - low) / k for i in range(k)] for low, high in bounds]",
             "[torch.linspace(low, high, k).tolist() for low, high in bounds]"),),
           breaks=(GRID,),
           why="puts the grid on the box's edges (linspace) instead of the cells' centres"),
    Mutant("grid_search_evaluates_best_again", "grid_search",
           (("    return xs, ys\n",
             "    best = min(range(budget), key=lambda i: float(f(xs[i])))\n    return xs, ys\n"),),
           breaks=(GRID,),
           why="calls f again to find the best point: twice the budget"),
    Mutant("grid_search_no_budget_check", "grid_search",
           (("    if k ** d != budget:\n", "    if False:\n"),),
           breaks=(GRID,),
           why="accepts any budget: a budget that is not a d-th power fails later with the wrong error"),
    Mutant("grid_search_cartesian_prod", "grid_search",
           (("""    k = round(budget ** (1 / d))
    if k ** d != budget:
        raise ValueError(f"a grid in {d} dimensions needs a budget k ** {d}, got {budget}")
    axes = [[low + (i + 0.5) * (high - low) / k for i in range(k)] for low, high in bounds]
    xs = torch.tensor(list(itertools.product(*axes)), dtype=torch.float64).reshape(budget, d)
    ys = torch.tensor([float(f(x)) for x in xs], dtype=torch.float64)
""", """    k = 1
    while (k + 1) ** d <= budget:
        k += 1
    if k ** d != budget:
        raise ValueError("not a d-th power")
    axes = [low + (torch.arange(k, dtype=torch.float64) + 0.5) / k * (high - low) for low, high in bounds]
    xs = torch.cartesian_prod(*axes).reshape(budget, d).flip(0)
    ys = torch.empty(budget, dtype=torch.float64)
    for i in range(budget):
        ys[i] = float(f(xs[i].clone()))
"""),),
           breaks=(), keeps=(GRID,),
           why="honest: an integer root by counting, torch.cartesian_prod, the points in another order"),
    Mutant("grid_search_one_buffer", "grid_search",
           (("    ys = torch.tensor([float(f(x)) for x in xs], dtype=torch.float64)\n",
             "    buf = torch.empty(d, dtype=torch.float64)\n"
             "    ys = torch.empty(budget, dtype=torch.float64)\n"
             "    for i in range(budget):\n"
             "        buf.copy_(xs[i])\n"
             "        ys[i] = float(f(buf))\n"),),
           breaks=(), keeps=(GRID,),
           why="honest: one buffer tensor, refilled for every point, passed to f"),
    # ---------------------------------------------------------------- random_search
    Mutant("random_search_global_rng", "random_search",
           (("torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "torch.rand(budget, len(bounds), dtype=torch.float64)"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="draws from the global random state: the generator's seed does not reproduce the search"),
    Mutant("random_search_reseeds_from_initial_seed", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "u = torch.rand(budget, len(bounds), generator=torch.Generator().manual_seed(generator.initial_seed()),\n"
             "                   dtype=torch.float64)"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="draws from a fresh copy seeded with generator.initial_seed(): ignores the generator's current "
               "state, so every call with the same generator repeats the same points"),
    Mutant("random_search_seeds_global_state", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "torch.manual_seed(int(torch.randint(0, 2 ** 31, (1,), generator=generator)))\n"
             "    u = torch.rand(budget, len(bounds), dtype=torch.float64)"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="seeds torch's global random state from the generator and draws from it: reproducible, but it "
               "changes the global random state the rest of the training relies on"),
    Mutant("random_search_seeds_numpy_global_state", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "np.random.seed(int(torch.randint(0, 2 ** 31, (1,), generator=generator)))\n"
             "    u = torch.from_numpy(np.random.rand(budget, len(bounds)))"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="seeds NumPy's global generator from the generator and draws from it: reproducible, but the "
               "program's NumPy random state (data shuffling, augmentation) is changed behind its back"),
    Mutant("random_search_seeds_python_random", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "import random\n"
             "    random.seed(int(torch.randint(0, 2 ** 31, (1,), generator=generator)))\n"
             "    u = torch.tensor([[random.random() for _ in bounds] for _ in range(budget)], dtype=torch.float64)"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="seeds Python's random module from the generator and draws from it: the module's state, which "
               "other code relies on, is changed"),
    Mutant("random_search_normal_draws", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "u = (0.5 + 0.2 * torch.randn(budget, len(bounds), generator=generator, dtype=torch.float64)).clamp(0, 1)"),),
           breaks=(RANDOM,),
           why="draws from a normal distribution around the centre (clipped to the box) instead of uniformly"),
    Mutant("random_search_same_value_on_every_axis", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "u = torch.rand(budget, 1, generator=generator, dtype=torch.float64).expand(budget, len(bounds))"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="one random number per point, used on every axis: the points lie on the box's diagonal"),
    Mutant("random_search_shifted_grid", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "k = round(budget ** (1 / len(bounds)))\n"
             "    offset = torch.rand(len(bounds), generator=generator, dtype=torch.float64)\n"
             "    cells = torch.cartesian_prod(*[torch.arange(k, dtype=torch.float64)] * len(bounds))\n"
             "    u = (cells.reshape(budget, len(bounds)) + offset) / k"),),
           breaks=(BEATS,), keeps=(RANDOM,),
           why="a grid with a random offset: uniform point by point, but only k values of each axis"),
    Mutant("random_search_draws_grid_values", "random_search",
           (("u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)",
             "k = round(budget ** (1 / len(bounds)))\n"
             "    u = (torch.randint(0, k, (budget, len(bounds)), generator=generator).double() + 0.5) / k"),),
           breaks=(BEATS,), keeps=(RANDOM,),
           why="draws each coordinate at random among the grid's k values: random order, the grid's coverage"),
    Mutant("random_search_evaluates_best_again", "random_search",
           (("    return xs, ys\n",
             "    best = min(range(budget), key=lambda i: float(f(xs[i])))\n    return xs, ys\n"),),
           breaks=(RANDOM,), keeps=(BEATS,),
           why="calls f again to find the best point: twice the budget"),
    Mutant("random_search_uniform_per_axis", "random_search",
           (("""    low = torch.tensor([lo for lo, _ in bounds], dtype=torch.float64)
    high = torch.tensor([hi for _, hi in bounds], dtype=torch.float64)
    u = torch.rand(budget, len(bounds), generator=generator, dtype=torch.float64)
    xs = low + u * (high - low)
    ys = torch.tensor([float(f(x)) for x in xs], dtype=torch.float64)
""", """    xs = torch.empty(budget, len(bounds), dtype=torch.float64)
    for j, (lo, hi) in enumerate(bounds):
        xs[:, j].uniform_(lo, hi, generator=generator)
    ys = torch.tensor([float(f(xs[i])) for i in range(budget)], dtype=torch.float64)
"""),),
           breaks=(), keeps=(RANDOM, BEATS),
           why="honest: Tensor.uniform_ axis by axis with the generator"),
    # ---------------------------------------------------------------- lr_range_test
    Mutant("lr_range_test_linear_spacing", "lr_range_test",
           (("lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))",
             "lr = lr_min + (lr_max - lr_min) * i / (steps - 1)"),),
           breaks=(VALUES,), keeps=(DIVERGE, RESTORES),
           why="spaces the learning rates linearly: almost every step at the top of the range"),
    Mutant("lr_range_test_never_reaches_lr_max", "lr_range_test",
           (("(i / (steps - 1))", "(i / steps)"),),
           breaks=(VALUES,), keeps=(DIVERGE, RESTORES),
           why="exponent i / steps: the last learning rate falls short of lr_max"),
    Mutant("lr_range_test_keeps_eval_mode", "lr_range_test",
           (("    model.train()\n    lrs, losses", "    lrs, losses"),),
           breaks=(VALUES,), keeps=(DIVERGE, RESTORES),
           why="runs the test in the mode the model came in: in eval mode BatchNorm uses its running statistics"),
    Mutant("lr_range_test_gradients_accumulate", "lr_range_test",
           (("        model.zero_grad()\n        loss.backward()", "        loss.backward()"),),
           breaks=(VALUES,), keeps=(DIVERGE, RESTORES),
           why="never zeroes the gradients: each step adds up all earlier gradients"),
    Mutant("lr_range_test_stops_before_recording", "lr_range_test",
           (("""        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
""", """        if losses and (not math.isfinite(loss.item()) or loss.item() > diverge_factor * min(losses)):
            break
        lrs.append(lr)
        losses.append(loss.item())
"""),),
           breaks=(DIVERGE,), keeps=(VALUES, RESTORES),
           why="stops without recording the diverging loss"),
    Mutant("lr_range_test_never_stops", "lr_range_test",
           (("            break\n", "            pass\n"),),
           breaks=(DIVERGE,), keeps=(VALUES, RESTORES),
           why="records the divergence but runs all the steps anyway"),
    Mutant("lr_range_test_compares_with_first_loss", "lr_range_test",
           (("diverge_factor * min(losses)", "diverge_factor * losses[0]"),),
           breaks=(DIVERGE,), keeps=(VALUES, RESTORES),
           why="compares with the first loss instead of the smallest so far"),
    Mutant("lr_range_test_state_not_copied", "lr_range_test",
           (("saved = copy.deepcopy(model.state_dict())", "saved = model.state_dict()"),),
           breaks=(RESTORES,), keeps=(VALUES,),
           why="keeps the state_dict itself, whose tensors are the live weights: the restore restores nothing"),
    Mutant("lr_range_test_restores_parameters_only", "lr_range_test",
           (("saved = copy.deepcopy(model.state_dict())",
             "saved = {n: p.detach().clone() for n, p in model.named_parameters()}"),
            ("model.load_state_dict(saved)", "model.load_state_dict(saved, strict=False)")),
           breaks=(RESTORES,), keeps=(VALUES,),
           why="restores the parameters but not the buffers: BatchNorm's running statistics stay changed"),
    Mutant("lr_range_test_mode_not_restored", "lr_range_test",
           (("    model.train(was_training)\n", ""),),
           breaks=(RESTORES,), keeps=(VALUES,),
           why="leaves the model in training mode although it came in eval mode"),
    Mutant("lr_range_test_logspace_and_sgd", "lr_range_test",
           (("""    lrs, losses = [], []
    batches = iter(loader)
    for i in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
""", """    lrs, losses = [], []
    schedule = torch.logspace(math.log10(lr_min), math.log10(lr_max), steps, dtype=torch.float64).tolist()
    schedule[0], schedule[-1] = lr_min, lr_max
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    batches = iter(loader)
    for i in range(steps):
        lr = schedule[i]
"""), ("""        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p.add_(p.grad, alpha=-lr)
""", """        opt.zero_grad()
        loss.backward()
        opt.param_groups[0]["lr"] = lr
        opt.step()
""")),
           breaks=(), keeps=(VALUES, DIVERGE, RESTORES),
           why="honest: torch.logspace for the rates and torch.optim.SGD for the steps"),
]

# the mistakes of the demo's buggy student: each loses one aspect and keeps the rest
DEMO = ("warmup_cosine_period_is_total_steps", "lr_range_test_state_not_copied")
