"""Checks of 03_pooling: max pooling with indices and its backward, average and global average pooling."""
from __future__ import annotations

A = "03_pooling"
