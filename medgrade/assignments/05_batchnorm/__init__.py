"""05_batchnorm: Batch normalization forward and backward, and layer normalization."""
