"""06_losses: Losses for classification and segmentation: cross-entropy, Dice, IoU, focal, smooth L1."""
