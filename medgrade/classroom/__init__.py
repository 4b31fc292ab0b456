"""Class-scale tools: grading a whole class in parallel (:mod:`.grade`), its report
(:mod:`.report`), cluster job files (:mod:`.cluster`), the instructor's demo (:mod:`.demo`),
running nbgrader's commands (:mod:`.nbgrader_cli`) and a new assignment's skeleton
(:mod:`.new_assignment`, ``./course new``)."""
