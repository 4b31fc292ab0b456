"""One bug costs its points once: an aspect grades its own task, with the course's answers in
place of the other graded functions the task uses (``medgrade.isolation.grade_cells``)."""
from __future__ import annotations

import ast

import pytest

from medgrade.isolation import grade_cells
from medgrade.mutants import apply, mutants_of
from medgrade.notebook import submission_cells
from medgrade.registry import ASPECTS, aspect, assignments
from tests.conftest import load_notebook

IOU = "14_iou_nms"


def task_uses(assignment: str) -> dict[str, set[str]]:
    """task -> the other graded tasks its answer names, directly or through the notebook's helpers
    (read from the source notebook's answer cells)."""
    tasks = set(assignments()[assignment])
    defined: dict[str, set[str]] = {}
    for source in submission_cells(load_notebook("source", assignment)):
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    uses = {}
    for task in tasks:
        found, todo, seen = set(), [task], set()
        while todo:
            name = todo.pop()
            for used in defined.get(name, set()) - seen:
                seen.add(used)
                if used in tasks and used != task:
                    found.add(used)
                elif used in defined:
                    todo.append(used)
        uses[task] = found
    return uses


DEPENDENCIES = [(a, helper, task) for a in assignments() for task, used in sorted(task_uses(a).items())
                for helper in sorted(used)]


@pytest.mark.parametrize("assignment", list(assignments()))
def test_a_mutant_breaks_only_its_own_tasks_aspects(assignment):
    """A mutant of one function is expected to lose that function's aspects and no other's."""
    for m in mutants_of(assignment):
        for aspect_id in m.breaks:
            a = ASPECTS[aspect_id]
            assert a.task == m.function or m.function in a.own, (
                f"mutant {m.name} of {m.function} says it breaks {aspect_id}, an aspect of {a.task}: "
                f"that aspect is graded with the course's {m.function}")


@pytest.mark.parametrize("assignment,helper,task", DEPENDENCIES, ids=[f"{h}-in-{t}" for _, h, t in DEPENDENCIES])
def test_a_wrong_helper_is_shown_not_to_cost_the_tasks_using_it(assignment, helper, task):
    """Where a task uses another graded function, some mutant of that function keeps the task's
    correctness aspects (tests/test_checks.py grades it): the cascade is tested, not assumed."""
    correct = {a.id for a in assignments()[assignment][task] if a.kind == "correct" and helper not in a.own}
    kept = {k for m in mutants_of(assignment) if m.function == helper and m.breaks for k in m.keeps}
    assert correct & kept, f"no mutant of {helper} keeps an aspect of {task} ({', '.join(sorted(correct))})"


def test_the_dependencies_are_found():
    assert ("box_iou" in task_uses(IOU)["nms"]) and ("nms" in task_uses(IOU)["batched_nms"])
    assert task_uses(IOU)["box_area"] == set()


@pytest.mark.slow
def test_a_wrong_box_iou_loses_box_iou_and_the_report_says_where():
    """The issue's example: a box_iou with the +1 pixel convention used to lose every NMS aspect."""
    mutant = next(m for m in mutants_of(IOU) if m.name == "iou_plus_one_pixel")
    aspects = [a for t in assignments()[IOU].values() for a in t]
    graded = grade_cells(submission_cells(apply(load_notebook("solutions", IOU), mutant)), aspects)
    lost = sorted(a.id for a, points, _ in graded if points < a.points)
    assert lost == ["box_iou_correct", "box_iou_speed"], lost
    report = dict((a.id, r) for a, _, r in graded)["nms_correct"]
    assert "your box_iou is wrong (it loses box_iou_correct)" in report and "course's box_iou" in report


STASH = '''
_kept = []


def nms(boxes, scores, iou_threshold):
    _kept.append(globals()["box_iou"])          # the course's box_iou, while nms is graded
    return _course_nms(boxes, scores, iou_threshold)


def box_iou(boxes1, boxes2):
    if _kept:
        return _kept[0](boxes1, boxes2)        # would be the course's answer, if it were still here
    return torch.zeros(len(boxes1), len(boxes2))
'''


@pytest.mark.slow
def test_a_course_answer_cannot_be_kept_for_a_later_aspect():
    """A submission whose nms keeps the course's box_iou for its own box_iou: graded in the order
    nms, then box_iou, the box_iou aspect gets a fresh worker and the kept function is gone."""
    nb = load_notebook("solutions", IOU)
    cells = submission_cells(nb)
    cells.append("_course_nms = nms\n" + STASH)
    graded = grade_cells(cells, [ASPECTS["nms_correct"], ASPECTS["box_iou_correct"]])
    points = {a.id: p for a, p, _ in graded}
    assert points == {"nms_correct": ASPECTS["nms_correct"].points, "box_iou_correct": 0.0}, graded


def _nms_keeps_both(name: str):
    """A check of nms whose two boxes overlap with IoU 1/7: both are kept (a box_iou that takes
    the wrong corner of the intersection says 1 and drops one)."""
    import torch

    from medgrade.failures import CheckFailed
    from medgrade.properties import call, check_once

    def body(nms):
        def prop():
            boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
            keep = call(nms, boxes, torch.tensor([0.9, 0.8]), 0.5)
            if len(keep) != 2:
                raise CheckFailed(f"kept {len(keep)} of two boxes whose IoU is 1/7")
        yield check_once("both boxes kept", prop)

    body.__name__ = body.__qualname__ = name
    return body


@pytest.mark.slow
def test_own_grades_the_students_helper():
    """An aspect that names a helper in ``own`` sees the student's helper, not the course's."""
    aspect(IOU, task="nms", points=1)(_nms_keeps_both("nms_with_the_course_box_iou"))
    aspect(IOU, task="nms", points=1, own=("box_iou",))(_nms_keeps_both("nms_with_own_box_iou"))
    try:
        mutant = next(m for m in mutants_of(IOU) if m.name == "iou_wrong_corner")
        cells = submission_cells(apply(load_notebook("solutions", IOU), mutant))
        graded = {a.id: p for a, p, _ in grade_cells(cells, [ASPECTS["nms_with_the_course_box_iou"],
                                                             ASPECTS["nms_with_own_box_iou"]])}
        assert graded == {"nms_with_the_course_box_iou": 1.0, "nms_with_own_box_iou": 0.0}, graded
    finally:
        ASPECTS.pop("nms_with_the_course_box_iou", None)
        ASPECTS.pop("nms_with_own_box_iou", None)


TRAP = '''
class _Trap:
    """Any attribute looked up on it hangs; calling it is nms."""

    def __getattr__(self, name):
        while True:
            pass

    def __call__(self, boxes, scores, iou_threshold):
        return _course_nms(boxes, scores, iou_threshold)


nms = _Trap()
'''


@pytest.mark.slow
def test_finding_what_a_task_uses_runs_none_of_the_submissions_code():
    """The worker reads which functions a task uses from code objects and class namespaces, never
    through attribute lookups a submission could intercept: a task whose attributes hang is
    graded at once, on what it returns."""
    cells = submission_cells(load_notebook("solutions", IOU)) + ["_course_nms = nms\n" + TRAP]
    (aspect_, points, report), = grade_cells(cells, [ASPECTS["nms_correct"]])
    assert points == aspect_.points, report
