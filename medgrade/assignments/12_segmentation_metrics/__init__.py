"""12_segmentation_metrics: Segmentation metrics: Dice, Jaccard, Hausdorff distance."""
