"""Hostile and broken submissions (the trust list of the course's design notes, all 18),
each with the exact score it must get from both runners. See scenarios.py."""
