"""Checks of 06_losses: cross-entropy, soft Dice and IoU, focal and smooth L1 losses."""
from __future__ import annotations

A = "06_losses"
