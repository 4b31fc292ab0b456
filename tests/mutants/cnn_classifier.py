"""Mutants of 04_cnn_classifier."""
from tests.mutants import Mutant  # noqa: F401

MUTANTS: list = []
DEMO: tuple = ()
