"""Checks of 04_cnn_classifier: a lesion classifier trained the MATLAB way, and its metrics."""
from __future__ import annotations

A = "04_cnn_classifier"
