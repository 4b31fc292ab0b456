"""The references of 04_cnn_classifier's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def confusion_matrix(y_true, y_pred, num_classes):
    """scikit-learn's confusion matrix (rows: truth, columns: prediction) as an int64 tensor."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix
    if len(y_true) == 0:
        return torch.zeros(num_classes, num_classes, dtype=torch.int64)
    out = sk_confusion_matrix(y_true.numpy(), y_pred.numpy(), labels=list(range(num_classes)))
    return torch.from_numpy(out).to(torch.int64)


def sensitivity_specificity(y_true, y_pred):
    """scikit-learn's recall of class 1 and of class 0; NaN where a class has no sample."""
    from sklearn.metrics import recall_score
    out = []
    for positive in (1, 0):
        if int((y_true == positive).sum()) == 0:
            out.append(math.nan)
        else:
            out.append(float(recall_score(y_true.numpy(), y_pred.numpy(), pos_label=positive,
                                          average="binary", zero_division=math.nan)))
    return tuple(out)


def roc_auc(y_true, scores) -> float:
    """scikit-learn's roc_auc_score in float64 (raises ValueError for a single class)."""
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y_true.numpy(), scores.double().numpy()))


def class_weights(labels, num_classes):
    """scikit-learn's compute_class_weight("balanced") over the classes 0 .. num_classes - 1."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight
    w = compute_class_weight("balanced", classes=np.arange(num_classes), y=labels.numpy())
    return torch.from_numpy(w).float()


def train_sgd_steplr(net, x, y, options, x_val=None, y_val=None, class_weights=None) -> dict:
    """The reference of a MATLAB-style training run with Shuffle "never", on torch.optim.SGD and
    torch.optim.lr_scheduler.StepLR (stepped once per epoch). Trains ``net`` in place.

    Iterations take floor(N / MiniBatchSize) mini-batches per epoch in index order (the incomplete
    one is dropped); validation after every ValidationFrequency-th iteration and after the last
    one; training stops when ValidationPatience validations in a row have a loss >= the smallest
    before them. Returns the history as plain data.
    """
    o = options
    n, batch = len(y), o["MiniBatchSize"]
    per_epoch = n // batch
    opt = torch.optim.SGD(net.parameters(), lr=o["InitialLearnRate"], momentum=o["Momentum"],
                          weight_decay=o["L2Regularization"])
    sched = (torch.optim.lr_scheduler.StepLR(opt, step_size=o["LearnRateDropPeriod"], gamma=o["LearnRateDropFactor"])
             if o["LearnRateSchedule"] == "piecewise" else None)
    h = {"loss": [], "learning_rate": [], "epoch": [], "val_iteration": [], "val_loss": [],
         "iterations": 0, "stopped_early": False}
    state = {"best": math.inf, "count": 0}

    def validate() -> bool:
        net.eval()
        with torch.no_grad():
            loss = F.cross_entropy(net(x_val), y_val, weight=class_weights).item()
        net.train()
        h["val_iteration"].append(h["iterations"])
        h["val_loss"].append(loss)
        if loss < state["best"]:
            state["best"], state["count"] = loss, 0
        else:
            state["count"] += 1
        return state["count"] >= o["ValidationPatience"]

    net.train()
    stop = False
    for epoch in range(1, o["MaxEpochs"] + 1):
        lr = opt.param_groups[0]["lr"]
        for k in range(per_epoch):
            logits = net(x[k * batch:(k + 1) * batch])
            loss = F.cross_entropy(logits, y[k * batch:(k + 1) * batch], weight=class_weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            h["loss"].append(loss.item())
            h["learning_rate"].append(lr)
            h["epoch"].append(epoch)
            h["iterations"] += 1
            if x_val is not None and h["iterations"] % o["ValidationFrequency"] == 0:
                stop = validate()
                if stop:
                    break
        if stop:
            break
        if sched is not None:
            sched.step()
    if x_val is not None and not stop and (not h["val_iteration"] or h["val_iteration"][-1] != h["iterations"]):
        stop = validate()
    h["stopped_early"] = stop
    return h


def patience_stop(iterations: int, frequency: int, patience: float, loss_after) -> dict:
    """Validation iterations, losses and stop of the MATLAB patience rule, for scripted losses
    (``loss_after(i)``: the validation loss after i iterations)."""
    its, losses, best, count, stop = [], [], math.inf, 0, False
    points = [i for i in range(1, iterations + 1) if i % frequency == 0]
    if iterations and (not points or points[-1] != iterations):
        points.append(iterations)
    for i in points:
        its.append(i)
        losses.append(loss_after(i))
        if losses[-1] < best:
            best, count = losses[-1], 0
        else:
            count += 1
        if count >= patience:
            stop = True
            break
    return {"val_iteration": its, "val_loss": losses, "iterations": its[-1] if stop else iterations,
            "stopped_early": stop}
