"""Grading package of the course Deep Learning for Medical Imaging.

``grade("nms_edge_cases", nms)`` runs the check of one aspect on a student's
function, prints what failed and on which input, and returns the points.

Names are imported on first use, so the small tools of this package (the
sandbox launcher that starts notebook kernels) do not pay for importing torch.
"""
__all__ = ["ASPECTS", "Aspect", "grade"]


def __getattr__(name):
    if name in __all__:
        from medgrade import registry
        return getattr(registry, name)
    raise AttributeError(f"module 'medgrade' has no attribute {name!r}")
