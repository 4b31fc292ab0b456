"""Mutants of 04_cnn_classifier."""
from medgrade.mutants import Mutant

DATASET = "lesion_dataset_items"
CNN = "small_cnn_forward"
OPTIONS = "training_options_fields"
SCHEDULE = "learning_rate_schedule"
REFERENCE = "train_network_matches_reference"
VALIDATION = "train_network_validation"
BATCHES = "train_network_minibatches"
CONFUSION = "confusion_matrix_correct"
SENS = "sensitivity_specificity_correct"
AUC = "roc_auc_correct"
WEIGHTS = "class_weights_correct"
TRAINED = "fit_and_score_auc"

MUTANTS = [
    # ---------------------------------------------------------------- metrics first: quick to grade twice
    Mutant("auc_ignores_ties", "roc_auc",
           (("ranks[order] = midrank_of_group[inverse]",
             "ranks[order] = torch.arange(1, len(s) + 1, dtype=torch.float64)"),),
           breaks=(AUC,),
           why="ordinal ranks: tied scores get different ranks, so a tie does not count one half"),
    Mutant("auc_descending_ranks", "roc_auc",
           (("sorted_s, order = torch.sort(s)", "sorted_s, order = torch.sort(s, descending=True)"),),
           breaks=(AUC,),
           why="ranks counted from the highest score: returns 1 - AUC"),
    Mutant("auc_single_class_half", "roc_auc",
           (('raise ValueError("the ROC AUC needs at least one positive and one negative sample")',
             "return 0.5"),),
           breaks=(AUC,),
           why="returns 0.5 when y_true has one class instead of raising ValueError"),
    Mutant("confusion_transposed", "confusion_matrix",
           (("pairs = y_true.long() * num_classes + y_pred.long()",
             "pairs = y_pred.long() * num_classes + y_true.long()"),),
           breaks=(CONFUSION,), keeps=(SENS,),      # sensitivity_specificity uses the course's confusion_matrix
           why="rows are the prediction and columns the truth: FP and FN swap places"),
    Mutant("confusion_without_minlength", "confusion_matrix",
           (("torch.bincount(pairs, minlength=num_classes * num_classes)", "torch.bincount(pairs)"),),
           breaks=(CONFUSION,),
           why="bincount without minlength: fails when the last classes never occur"),
    Mutant("sensitivity_is_precision", "sensitivity_specificity",
           (("sensitivity = tp / (tp + fn) if tp + fn else math.nan",
             "sensitivity = tp / (tp + fp) if tp + fp else math.nan"),),
           breaks=(SENS,),
           why="TP / (TP + FP) is the precision (positive predictive value), not the sensitivity"),
    Mutant("sensitivity_zero_when_undefined", "sensitivity_specificity",
           (("sensitivity = tp / (tp + fn) if tp + fn else math.nan",
             "sensitivity = tp / (tp + fn) if tp + fn else 0.0"),
            ("specificity = tn / (tn + fp) if tn + fp else math.nan",
             "specificity = tn / (tn + fp) if tn + fp else 0.0")),
           breaks=(SENS,),
           why="returns 0 for an undefined ratio instead of NaN"),
    Mutant("sensitivity_specificity_swapped", "sensitivity_specificity",
           (("return float(sensitivity), float(specificity)", "return float(specificity), float(sensitivity)"),),
           breaks=(SENS,),
           why="returns (specificity, sensitivity)"),
    Mutant("class_weights_sum_to_one", "class_weights",
           (("return (len(labels) / (num_classes * counts.double())).float()",
             "inverse = 1 / counts.double()\n    return (inverse / inverse.sum()).float()"),),
           breaks=(WEIGHTS,), keeps=("fit_and_score_auc", "train_network_matches_reference", "train_network_validation", "train_network_minibatches"),
           why="normalizes the inverse frequencies to sum 1 instead of sklearn's N / (K N_k)"),
    Mutant("class_weights_without_k", "class_weights",
           (("num_classes * counts.double()", "counts.double()"),),
           breaks=(WEIGHTS,),
           why="N / N_k: forgets the number of classes"),
    # ---------------------------------------------------------------- dataset, network, options, schedule
    Mutant("dataset_labels_shifted", "LesionDataset",
           (("return image, self.labels[index]", "return image, self.labels[(index + 1) % len(self.labels)]"),),
           breaks=(DATASET,), keeps=(TRAINED,),     # fit_and_score uses the course's LesionDataset
           why="labels shifted by one against the images: the classifier learns noise"),
    Mutant("dataset_transform_result_dropped", "LesionDataset",
           (("image = self.transform(image)", "self.transform(image)"),),
           breaks=(DATASET,),
           why="calls the transform but returns the untransformed image"),
    Mutant("dataset_no_length_check", "LesionDataset",
           (('raise ValueError(f"{len(images)} images but {len(labels)} labels")', "pass"),),
           breaks=(DATASET,),
           why="accepts images and labels of different lengths"),
    Mutant("cnn_head_sized_for_32", "SmallCNN",
           (("self.head = nn.Linear(32, num_classes)", "self.head = nn.Linear(32 * 8 * 8, num_classes)"),
            ("pooled = features.mean(dim=(2, 3))", "pooled = features.flatten(1)")),
           breaks=(CNN,), keeps=("fit_and_score_auc",),
           why="flattens the feature maps into a Linear layer sized for 32 x 32 inputs only"),
    Mutant("cnn_ignores_in_channels", "SmallCNN",
           (("*block(in_channels, 8)", "*block(1, 8)"),),
           breaks=(CNN,),
           why="the first convolution always expects one channel"),
    Mutant("options_pytorch_batch_size", "TrainingOptions",
           (("MiniBatchSize: int = 128", "MiniBatchSize: int = 32"),),
           breaks=(OPTIONS,), keeps=("fit_and_score_auc",),
           why="a habitual batch size of 32 instead of MATLAB's default 128"),
    Mutant("options_old_patience_default", "TrainingOptions",
           (("ValidationPatience: float = math.inf", "ValidationPatience: float = 5"),),
           breaks=(OPTIONS,),
           why="ValidationPatience 5, MATLAB's default before R2018b"),
    Mutant("options_not_validated", "TrainingOptions",
           (("def __post_init__(self):", "def validate(self):"),),
           breaks=(OPTIONS,),
           why="never checks the values (the check is not run at construction)"),
    Mutant("schedule_drops_one_epoch_early", "learning_rate_at",
           (("drops = (epoch - 1) // options.LearnRateDropPeriod", "drops = epoch // options.LearnRateDropPeriod"),),
           breaks=(SCHEDULE,), keeps=(REFERENCE,),  # train_network uses the course's learning_rate_at
           why="counts epochs from 0: the rate drops one epoch too early"),
    Mutant("schedule_exponential", "learning_rate_at",
           (("drops = (epoch - 1) // options.LearnRateDropPeriod", "drops = (epoch - 1) / options.LearnRateDropPeriod"),),
           breaks=(SCHEDULE,),
           why="a smooth exponential decay instead of MATLAB's steps"),
    Mutant("schedule_unknown_accepted", "learning_rate_at",
           (('raise ValueError(f"unknown LearnRateSchedule {options.LearnRateSchedule!r}")',
             "return float(options.InitialLearnRate)"),),
           breaks=(SCHEDULE,),
           why="treats an unknown schedule as a constant rate"),
    # ---------------------------------------------------------------- train_network
    Mutant("train_keeps_incomplete_batch", "train_network",
           (("drop_last=True", "drop_last=False"),),
           breaks=(REFERENCE, BATCHES),
           why="trains on the final incomplete mini-batch (PyTorch's DataLoader default), which MATLAB discards"),
    Mutant("train_without_zero_grad", "train_network",
           (("            optimizer.zero_grad()\n", ""),),
           breaks=(REFERENCE,), keeps=(TRAINED,),   # fit_and_score uses the course's train_network
           why="never zeroes the gradients: they accumulate across iterations"),
    Mutant("train_rate_never_updated", "train_network",
           (("        for group in optimizer.param_groups:\n            group[\"lr\"] = lr\n", ""),),
           breaks=(REFERENCE,),
           why="computes the piecewise rate but never gives it to the optimizer"),
    Mutant("train_ignores_class_weights", "train_network",
           (("loss = F.cross_entropy(net(x), y, weight=class_weights)", "loss = F.cross_entropy(net(x), y)"),),
           breaks=(REFERENCE,),
           why="the training loss ignores the class weights"),
    Mutant("train_validates_in_training_mode", "train_network",
           (("        net.eval()\n        total, weight_sum = 0.0, 0.0", "        total, weight_sum = 0.0, 0.0"),),
           breaks=(REFERENCE, VALIDATION),
           why="validates in training mode: batch norm uses and updates the statistics of the validation set"),
    Mutant("patience_ties_reset", "train_network",
           (("if loss < best:", "if loss <= best:"),),
           breaks=(VALIDATION,),
           why="a validation loss equal to the smallest resets the count (MATLAB counts it)"),
    Mutant("patience_counts_all_failures", "train_network",
           (("best, worse_in_a_row = loss, 0", "best = loss"),),
           breaks=(VALIDATION,),
           why="never resets the count: stops after ValidationPatience non-improvements in total"),
    Mutant("no_final_validation", "train_network",
           (("        stop = validate()\n    history[\"stopped_early\"]", "        pass\n    history[\"stopped_early\"]"),),
           breaks=(VALIDATION,),
           why="skips the validation after the last iteration"),
    Mutant("shuffle_once_every_epoch", "train_network",
           (('if options.Shuffle == "every-epoch":', 'if options.Shuffle != "never":'),),
           breaks=(BATCHES,),
           why="Shuffle 'once' draws a new order every epoch"),
    Mutant("train_too_small_accepted", "train_network",
           (('raise ValueError(f"{n} training samples: fewer than one mini-batch of {batch}")', "return {}"),),
           breaks=(BATCHES,),
           why="returns an empty history instead of raising when there is no full mini-batch"),
    # ---------------------------------------------------------------- fit_and_score
    Mutant("scores_from_benign_column", "fit_and_score",
           (("return torch.softmax(net(test_images), dim=1)[:, 1]", "return torch.softmax(net(test_images), dim=1)[:, 0]"),),
           breaks=(TRAINED,),
           why="returns the probability of 'benign': the AUC becomes 1 - AUC"),
]

# A hand-made margin feature: the edge radius of the lesion along 96 rays, and the energy of its
# harmonics 5 to 11 (the lobes of a malignant margin). It separates the classes without training.
_MARGIN_FEATURE = """def _margin_roughness(x, rays=96, steps=56, blur=5):
    n = len(x)
    box = torch.ones(1, 1, blur, blur) / blur ** 2
    smooth = F.conv2d(F.pad(x, (blur // 2,) * 4, mode="replicate"), box)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    w = (smooth[:, 0] - smooth.flatten(1).quantile(0.7, dim=1)[:, None, None]).clamp(min=0)
    cy, cx = (w * yy).sum((1, 2)) / w.sum((1, 2)), (w * xx).sum((1, 2)) / w.sum((1, 2))
    theta, rad = torch.linspace(0, 2 * math.pi, rays + 1)[:-1], torch.linspace(0, 14, steps)
    py = cy[:, None, None] + rad[None, None, :] * torch.sin(theta)[None, :, None]
    px = cx[:, None, None] + rad[None, None, :] * torch.cos(theta)[None, :, None]
    grid = torch.stack([px / 15.5 - 1, py / 15.5 - 1], -1)
    profile = F.grid_sample(F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1), grid,
                            align_corners=True, padding_mode="border")[:, 0]
    middle = (profile[:, :, :6].mean((1, 2)) + profile[:, :, -8:].mean((1, 2))) / 2
    radius = torch.cumprod((profile > middle[:, None, None]).float(), -1).sum(-1)
    spectrum = torch.fft.rfft(radius - radius.mean(1, keepdim=True), dim=1).abs()
    return spectrum[:, 5:12].sum(1) / (radius.mean(1) + 1)


def fit_and_score("""

# Found by auditing the checks with wrong submissions nobody had graded before.
MUTANTS += [
    Mutant("cnn_log_softmax_inside", "SmallCNN",
           (("return self.head(pooled)", "return F.log_softmax(self.head(pooled), dim=1)"),),
           breaks=(CNN,),
           why="ends with a log-softmax: log-probabilities, not the raw logits the loss expects"),
    Mutant("dataset_transform_at_construction", "LesionDataset",
           (("        self.images = images\n",
             "        self.images = images if transform is None else torch.stack([transform(im) for im in images])\n"),
            ("        if self.transform is not None:\n            image = self.transform(image)\n", "")),
           breaks=(DATASET,),
           why="transforms every image once, when the dataset is built: augmentation is then the same every epoch"),
    Mutant("dataset_casts_float32", "LesionDataset",
           (("image = self.images[index]", "image = self.images[index].float()"),),
           breaks=(DATASET,),
           why="converts every image to float32 instead of keeping its dtype"),
    Mutant("options_rejects_drop_factor_zero", "TrainingOptions",
           (('"LearnRateDropFactor": 0 <= self.LearnRateDropFactor <= 1',
             '"LearnRateDropFactor": 0 < self.LearnRateDropFactor <= 1'),),
           breaks=(OPTIONS,),
           why="rejects LearnRateDropFactor 0, which is in the valid range [0, 1]"),
    Mutant("options_negative_momentum_accepted", "TrainingOptions",
           (('"Momentum": 0 <= self.Momentum < 1', '"Momentum": self.Momentum < 1'),),
           breaks=(OPTIONS,),
           why="checks only the upper end of Momentum: a negative momentum is accepted"),
    Mutant("options_negative_rate_accepted", "TrainingOptions",
           (('"InitialLearnRate": self.InitialLearnRate > 0', '"InitialLearnRate": self.InitialLearnRate != 0'),),
           breaks=(OPTIONS,),
           why="rejects only a zero learning rate: a negative one is accepted"),
    Mutant("train_never_sets_training_mode", "train_network",
           (("    net.train()\n    progress = tqdm", "    progress = tqdm"),),
           breaks=(REFERENCE,),
           why="never calls net.train() before training: a network handed over in eval mode trains with batch "
               "norm's running statistics"),
    Mutant("train_not_left_in_eval_mode", "train_network",
           (("    history[\"stopped_early\"] = stop\n    net.eval()\n", "    history[\"stopped_early\"] = stop\n"),),
           breaks=(REFERENCE,),
           why="returns the network in training mode instead of eval mode"),
    Mutant("validation_mean_of_batch_means", "train_network",
           (("""        with torch.no_grad():
            for x, y in DataLoader(val_set, batch_size=256):
                logits = net(x)
                w = torch.ones_like(y, dtype=logits.dtype) if class_weights is None else class_weights[y]
                total += (w * F.cross_entropy(logits, y, reduction="none")).sum().item()
                weight_sum += w.sum().item()
        loss = total / weight_sum
""", """        with torch.no_grad():
            losses = [F.cross_entropy(net(x), y, weight=class_weights).item()
                      for x, y in DataLoader(val_set, batch_size=64)]
        loss = sum(losses) / len(losses)
"""),),
           breaks=(VALIDATION,),
           why="the validation loss is the mean of per-batch means, not the loss over the whole set"),
    Mutant("auc_scores_as_float32", "roc_auc",
           (("    s = scores.double()\n", "    s = scores.float().double()\n"),),
           breaks=(AUC,),
           why="rounds float64 scores to float32: scores that differ only beyond float32 precision tie"),
    Mutant("auc_shifts_scores_in_place", "roc_auc",
           (("    s = scores.double()\n", "    s = scores.double()\n    scores.sub_(scores.min())\n"),),
           breaks=(AUC,),
           why="shifts the caller's scores in place"),
    Mutant("confusion_in_place", "confusion_matrix",
           (("    pairs = y_true.long() * num_classes + y_pred.long()\n",
             "    pairs = y_true.mul_(num_classes).add_(y_pred)\n"),),
           breaks=(CONFUSION,),
           why="computes the pair index in the caller's y_true, which it overwrites"),
    Mutant("fit_handmade_feature", "fit_and_score",
           (("def fit_and_score(", _MARGIN_FEATURE),
            ("    torch.manual_seed(seed)\n    net = SmallCNN",
             "    return _margin_roughness(test_images)\n    torch.manual_seed(seed)\n    net = SmallCNN")),
           breaks=(TRAINED,),
           why="scores a hand-made margin feature and trains nothing: it ignores the labels it is given"),
    Mutant("fit_handmade_feature_oriented", "fit_and_score",
           (("def fit_and_score(", _MARGIN_FEATURE),
            ("    torch.manual_seed(seed)\n    net = SmallCNN",
             "    f = _margin_roughness(train_images)\n"
             "    sign = torch.sign(f[train_labels == 1].mean() - f[train_labels == 0].mean())\n"
             "    return sign * _margin_roughness(test_images)\n    torch.manual_seed(seed)\n    net = SmallCNN")),
           breaks=(TRAINED,),
           why="a hand-made feature whose only use of the labels is the sign it is given"),
    Mutant("fit_unseeded", "fit_and_score",
           (("    torch.manual_seed(seed)\n    net = SmallCNN", "    net = SmallCNN"),),
           breaks=(TRAINED,),
           why="never seeds torch: the same call gives other scores"),
    Mutant("fit_test_batch_standardized", "fit_and_score",
           (("return torch.softmax(net(test_images), dim=1)[:, 1]",
             "t = (test_images - test_images.mean()) / test_images.std() * train_images.std() + train_images.mean()\n"
             "        return torch.softmax(net(t), dim=1)[:, 1]"),),
           breaks=(TRAINED,),
           why="standardizes the test patches with their own statistics: a patch's score depends on the others"),
]

# Contracts the docstrings state that no mutant above tests.
MUTANTS += [
    Mutant("auc_scipy_rankdata", "roc_auc",
           (("def roc_auc(y_true, scores):", "from scipy.stats import rankdata\n\n\ndef roc_auc(y_true, scores):"),
            ("    ranks = torch.empty_like(s)\n    ranks[order] = midrank_of_group[inverse]\n",
             "    ranks = torch.from_numpy(rankdata(s.numpy()))\n")),
           breaks=(AUC,),
           why="midranks from scipy.stats.rankdata, imported before the call: SciPy's rank functions are refused"),
    Mutant("auc_float32_arithmetic", "roc_auc",
           (("    ranks = torch.empty_like(s)\n    ranks[order] = midrank_of_group[inverse]\n",
             "    ranks = torch.empty_like(s, dtype=torch.float32)\n    ranks[order] = midrank_of_group[inverse].float()\n"),
            ("    u = ranks[y == 1].sum().item() - n_pos * (n_pos + 1) / 2\n    return float(u / (n_pos * n_neg))\n",
             "    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2\n    return (u / (n_pos * n_neg)).item()\n")),
           breaks=(AUC,),
           why="ranks and the final division in float32: about 1e-7 off, where float64's 1e-9 is asked"),
    Mutant("cnn_features_without_grad", "SmallCNN",
           (("        features = self.features(x)\n",
             "        with torch.no_grad():\n            features = self.features(x)\n"),),
           breaks=(CNN,),
           why="computes the feature maps under torch.no_grad(): the logits do not depend on the image through "
               "autograd, and the convolutions never learn"),
    Mutant("dataset_transform_twice", "LesionDataset",
           (("            image = self.transform(image)\n",
             "            if self.transform(image).shape != image.shape:\n"
             "                raise ValueError(\"the transform must keep the image's shape\")\n"
             "            image = self.transform(image)\n"),),
           breaks=(DATASET,),
           why="calls the transform twice per read (once to check its shape): a random transform is drawn twice"),
    Mutant("fit_trains_too_long", "fit_and_score",
           (("options = TrainingOptions(MaxEpochs=12,", "options = TrainingOptions(MaxEpochs=240,"),),
           breaks=(TRAINED,),
           why="240 epochs: the call runs far past the 30 s it is allowed"),
]

# the demo's buggy student makes these mistakes
DEMO = ("auc_ignores_ties", "patience_ties_reset")

# Honest alternatives: written differently from the solution, they must keep every aspect they list.
MUTANTS += [
    Mutant("honest_auc_trapezoid", "roc_auc",
           (("    s = scores.double()\n", "    s = scores.double()\n    return _trapezoid_auc(y, s)\n"),
            ("def roc_auc(y_true, scores):",
             "def _trapezoid_auc(y, s):\n"
             "    order = torch.argsort(s, descending=True)\n"
             "    ys, ss = y[order].double(), s[order]\n"
             "    last = torch.ones(len(ss), dtype=torch.bool)\n"
             "    last[:-1] = ss[1:] != ss[:-1]\n"
             "    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(ys, 0)[last] / ys.sum()])\n"
             "    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(1 - ys, 0)[last] / (1 - ys).sum()])\n"
             "    return float(torch.trapezoid(tpr, fpr))\n\n\n"
             "def roc_auc(y_true, scores):")),
           breaks=(), keeps=(AUC,),
           why="the trapezoid rule through the ROC points at distinct thresholds"),
    Mutant("honest_auc_pairs", "roc_auc",
           (("    s = scores.double()\n",
             "    s = scores.double()\n"
             "    diff = s[y == 1][:, None] - s[y == 0][None, :]\n"
             "    return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())\n"),),
           breaks=(), keeps=(AUC,),
           why="every (positive, negative) pair compared at once, ties counting one half"),
    Mutant("honest_confusion_loops", "confusion_matrix",
           (("    pairs = y_true.long() * num_classes + y_pred.long()\n"
             "    counts = torch.bincount(pairs, minlength=num_classes * num_classes)\n"
             "    return counts.reshape(num_classes, num_classes)\n",
             "    out = torch.zeros(num_classes, num_classes, dtype=torch.int64)\n"
             "    for i in range(num_classes):\n"
             "        for j in range(num_classes):\n"
             "            out[i, j] = ((y_true == i) & (y_pred == j)).sum()\n"
             "    return out\n"),),
           breaks=(), keeps=(CONFUSION, SENS),
           why="a loop over the K x K cells"),
    Mutant("honest_dataset_int_label", "LesionDataset",
           (("return image, self.labels[index]", "return image, int(self.labels[index])"),),
           breaks=(), keeps=(DATASET,),
           why="returns the label as a Python int (the DataLoader collates it into an int64 tensor)"),
    Mutant("honest_schedule_loop", "learning_rate_at",
           (("        drops = (epoch - 1) // options.LearnRateDropPeriod\n"
             "        return float(options.InitialLearnRate * options.LearnRateDropFactor ** drops)\n",
             "        rate = options.InitialLearnRate\n"
             "        for e in range(2, epoch + 1):\n"
             "            if (e - 1) % options.LearnRateDropPeriod == 0:\n"
             "                rate *= options.LearnRateDropFactor\n"
             "        return float(rate)\n"),),
           breaks=(), keeps=(SCHEDULE,),
           why="multiplies the rate at each drop, as StepLR does"),
    Mutant("honest_weights_one_hot", "class_weights",
           (("counts = torch.bincount(labels.long(), minlength=num_classes)[:num_classes]",
             "counts = F.one_hot(labels.long(), num_classes).sum(0)"),),
           breaks=(), keeps=(WEIGHTS,),
           why="class counts from a one-hot sum"),
    Mutant("honest_train_slicing", "train_network",
           (("        loader = DataLoader(train_set, batch_size=batch, sampler=order.tolist(), drop_last=True)\n"
             "        for x, y in loader:\n",
             "        for k in range(per_epoch):\n"
             "            picked = [train_set[int(i)] for i in order[k * batch:(k + 1) * batch]]\n"
             "            x = torch.stack([p[0] for p in picked])\n"
             "            y = torch.stack([torch.as_tensor(p[1]) for p in picked])\n"),
            ("""        with torch.no_grad():
            for x, y in DataLoader(val_set, batch_size=256):
                logits = net(x)
                w = torch.ones_like(y, dtype=logits.dtype) if class_weights is None else class_weights[y]
                total += (w * F.cross_entropy(logits, y, reduction="none")).sum().item()
                weight_sum += w.sum().item()
        loss = total / weight_sum
""", """        with torch.no_grad():
            xs, ys = zip(*[val_set[i] for i in range(len(val_set))])
            loss = F.cross_entropy(net(torch.stack(xs)), torch.stack(ys), weight=class_weights).item()
""")),
           breaks=(), keeps=(REFERENCE, VALIDATION, BATCHES),
           why="mini-batches stacked by hand, the validation loss in one call over the whole set"),
    Mutant("honest_fit_long_unweighted", "fit_and_score",
           (("MaxEpochs=12, MiniBatchSize=32, InitialLearnRate=0.05,", "MaxEpochs=25, MiniBatchSize=16, InitialLearnRate=0.05,"),
            ('LearnRateDropPeriod=8, Shuffle="every-epoch")', 'LearnRateDropPeriod=15, Shuffle="once")'),
            ("    train_network(net, LesionDataset(train_images, train_labels), options, class_weights=weights)\n",
             "    train_network(net, LesionDataset(train_images, train_labels), options)\n"),
            ("        return torch.softmax(net(test_images), dim=1)[:, 1]\n",
             "        logits = net(test_images)\n        return logits[:, 1] - logits[:, 0]\n")),
           breaks=(), keeps=(TRAINED,),
           why="another recipe: 25 epochs of batch 16 shuffled once, no class weights, the logit margin as score "
               "(one of the recipes that set the band of the uninformative-labels property)"),
]
