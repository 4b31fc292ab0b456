"""15_yolo: YOLO: one look at the grid."""
