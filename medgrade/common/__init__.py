"""What several assignments draw and compare with: tensors from seeds, boxes."""
