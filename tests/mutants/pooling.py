"""Mutants of 03_pooling."""
from tests.mutants import Mutant  # noqa: F401

MUTANTS: list = []
DEMO: tuple = ()
