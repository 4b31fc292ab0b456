"""Grading package of the course Deep Learning for Medical Imaging.

``grade("nms_edge_cases", nms)`` runs the check of one aspect on a student's
function, prints what failed and on which input, and returns the points.
"""
from .registry import ASPECTS, Aspect, assignments, grade

__all__ = ["ASPECTS", "Aspect", "assignments", "grade"]
