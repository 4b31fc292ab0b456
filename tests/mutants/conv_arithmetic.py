from . import Mutant

MUTANTS = [
    Mutant("output_size_ignores_dilation", "conv_output_size",
           (("d * (k - 1) - 1", "(k - 1) - 1"),),
           breaks=("conv_output_size_correct",),
           why="uses the kernel size instead of the dilated span d(k-1)+1"),
]
