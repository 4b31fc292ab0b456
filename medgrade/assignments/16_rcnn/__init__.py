"""16_rcnn: From R-CNN to Mask R-CNN: anchors, matching, RoI Align."""

# imported by its grading workers before any student code: the libraries its checks refuse
WORKER_PRELOAD = ("torchvision.models.detection._utils", "torchvision.models.detection.anchor_utils",
                  "torchvision.ops.poolers")
