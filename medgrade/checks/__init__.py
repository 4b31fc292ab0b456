"""One module per assignment; importing this package registers every aspect."""
from medgrade.checks import conv_arithmetic, receptive_field, pooling, cnn_classifier, batchnorm, losses, iou_nms, compression, distributed  # noqa: F401
