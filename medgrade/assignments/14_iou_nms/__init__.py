"""14_iou_nms: Boxes: IoU, generalized IoU, NMS, class-aware NMS, soft-NMS."""
