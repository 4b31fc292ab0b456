"""The one Hypothesis profile every graded property runs under.

Same submission, same inputs, same score: examples are derived from the
property's own source (``derandomize``), nothing is read from or written to an
example database, and no example is failed for being slow. ``max_examples`` is
set per property by the check that runs it.
"""
import os
import tempfile

from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.internal.conjecture import providers as _providers

# Hypothesis may write caches under ./.hypothesis even without a database, and
# nbgrader would copy that folder into the student's feedback: keep it out of
# the submission's folder (nothing is written there unless Hypothesis needs it).
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "medgrade-hypothesis"))

# Hypothesis mixes into its draws constants harvested from the "local" modules
# loaded at the time, which would include a submission's own helper modules and
# depend on how the course is installed. Grading inputs must depend only on the
# check, so no local constants are harvested (Hypothesis is pinned exactly).
_providers._get_local_constants = lambda: _providers._local_constants

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
