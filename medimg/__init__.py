"""Course helpers: synthetic medical-imaging data and figures (no downloads)."""
