"""What runs inside a grading worker: the request loop, the wire format, the guards, the sandbox
and the probes the checks send in.

A worker runs a student's cells, so it may import nothing else of the grading package: the
name of this subpackage is the worker's import allow-list (:mod:`medgrade.worker.server`).
"""
