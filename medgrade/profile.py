"""The one Hypothesis profile every graded property runs under.

Same submission, same inputs, same score: examples are derived from the
property's own source (``derandomize``), nothing is read from or written to an
example database, and no example is failed for being slow. ``max_examples`` is
set per property by the check that runs it.
"""
from hypothesis import HealthCheck, Phase, settings

PROFILE = "grading"

settings.register_profile(
    PROFILE,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    # Health checks such as ``too_slow`` depend on the speed of the machine
    # and of the submission: they would make the score depend on load.
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    max_examples=50,
)


def grading_settings(max_examples: int) -> settings:
    """The grading profile with this property's example budget."""
    return settings(settings.get_profile(PROFILE), max_examples=max_examples)
