"""02_receptive_field: Receptive fields: analytic and empirical, and what stacked small kernels cost."""
