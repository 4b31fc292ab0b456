"""Checks of 02_receptive_field: analytic and empirical receptive fields, parameter and FLOP counts."""
from __future__ import annotations

A = "02_receptive_field"
