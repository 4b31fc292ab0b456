"""16_rcnn: From R-CNN to Mask R-CNN: anchors, matching, RoI Align."""
