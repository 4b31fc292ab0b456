"""The course's own oracles against the field's libraries, where a library computes the same thing
but cannot be the oracle in grading (too slow to import in every grading process, or its conventions
differ in details the notebooks state)."""
from __future__ import annotations

import pytest

import medgrade.assignments as folders


@pytest.mark.slow
def test_brute_force_mean_average_precision_equals_torchmetrics():
    """15_yolo's brute-force AP (101 recall levels, greedy matching per image) against torchmetrics'
    MeanAveragePrecision, which runs pycocotools' COCOeval, on random multi-image, multi-class cases
    with duplicates and false detections: map, map_50 and map_75 agree to float32's precision."""
    reference = folders.part("15_yolo", "reference")
    assert reference.compare_with_torchmetrics(cases=60) < 1e-6
