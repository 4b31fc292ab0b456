"""12_segmentation_metrics: Segmentation metrics: Dice, Jaccard, precision, recall, specificity, Hausdorff distance, HD95, ASSD."""
