"""Known-wrong answers of 15_yolo (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

CORRECT = "ct_window_a15_correct"
CONTRACT = "ct_window_a15_contract"

MUTANTS = [
    # ---------------------------------------------------------------- ct_window_a15
    Mutant("ct_window_a15_without_clipping", "ct_window_a15",
           ((".clamp(0.0, 1.0)", ""),),
           breaks=(CORRECT,), keeps=(CONTRACT,),
           why="the linear map alone: values outside the window go below 0 and above 1"),
    Mutant("ct_window_a15_starts_at_level", "ct_window_a15",
           (("lower = level - width / 2", "lower = level"),),
           breaks=(CORRECT,), keeps=(CONTRACT,),
           why="takes the level for the window's lower edge instead of its centre"),
    Mutant("ct_window_a15_in_place", "ct_window_a15",
           (("return ((hu - lower) / width).clamp(0.0, 1.0)", "return hu.sub_(lower).div_(width).clamp_(0.0, 1.0)"),),
           breaks=(CONTRACT,), keeps=(CORRECT,),
           why="windows the image in place: the caller's HU values are gone"),
    Mutant("ct_window_a15_always_float32", "ct_window_a15",
           (("return ((hu - lower) / width)", "return ((hu.float() - lower) / width)"),),
           breaks=(CONTRACT, CORRECT),
           why="converts to float32 first: a float64 volume comes back in float32"),
    # honest alternatives
    Mutant("ct_window_a15_from_the_centre", "ct_window_a15",
           (("    lower = level - width / 2\n    return ((hu - lower) / width).clamp(0.0, 1.0)\n",
             "    return torch.clip(0.5 + (hu - level) / width, min=0.0, max=1.0)\n"),),
           breaks=(), keeps=(CORRECT, CONTRACT),
           why="honest: measured from the window's centre, torch.clip with keywords"),
]

# the mistakes of the demo's buggy student: each loses the values and keeps the contract
DEMO = ("ct_window_a15_without_clipping", "ct_window_a15_starts_at_level")
