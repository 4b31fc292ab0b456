"""Mutants of 02_receptive_field."""
from tests.mutants import Mutant  # noqa: F401

MUTANTS: list = []
DEMO: tuple = ()
