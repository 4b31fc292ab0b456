"""26_compression: Model compression: pruning, quantization, knowledge distillation."""
