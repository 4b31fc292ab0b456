"""Mutants of 06_losses."""
from tests.mutants import Mutant  # noqa: F401

MUTANTS: list = []
DEMO: tuple = ()
