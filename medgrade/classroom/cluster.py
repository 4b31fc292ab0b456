"""Grading a class on many machines: a Slurm job array and a Kubernetes Indexed Job.

Both fan out the same per-group command, ``./course class autograde ... --group I/N``, one
student group per array task (or pod), against one PostgreSQL gradebook named by
``COURSE_DB_URL``, with the course folder on a filesystem every node mounts. Before
submitting: ``nbgrader generate_assignment`` each assignment against that gradebook, and
collect the submissions into ``submitted/``. Afterwards, ``./course class table``,
``./course class report`` and ``nbgrader export`` read the same gradebook.
"""
from __future__ import annotations

import shlex


def _check(tasks: int, parallel: int | None, cpus: int) -> int:
    if tasks < 1:
        raise ValueError(f"--tasks must be at least 1, got {tasks}")
    if cpus < 1:
        raise ValueError(f"--cpus must be at least 1, got {cpus}")
    if parallel is None:
        return tasks
    if parallel < 1:
        raise ValueError(f"--parallel must be at least 1, got {parallel}")
    return min(parallel, tasks)


def task_command(group: str, tasks: int, assignments: list[str], cpus: int, log: str) -> str:
    """The command one array task runs (``group`` is a shell expression for the task index)."""
    words = " ".join(shlex.quote(a) for a in assignments)
    return (f'exec ./course class autograde {words}{" " if words else ""}--group "{group}/{tasks}" '
            f'-j {cpus} --quiet --log "{log}"')


def slurm_script(tasks: int, parallel: int | None, assignments: list[str], cpus: int = 2) -> str:
    """An sbatch script: array tasks 0..tasks-1, at most ``parallel`` at once."""
    parallel = _check(tasks, parallel, cpus)
    return f"""#!/bin/bash
# Autograde the class as a Slurm job array: {tasks} student groups, {parallel} at a time.
# From the course folder (on the shared filesystem), with the PostgreSQL gradebook in COURSE_DB_URL:
#   COURSE_DB_URL=postgresql://grader@db-host/course sbatch autograde.sbatch
# Task I grades student group I of {tasks} (students sorted by id; student k is in group k mod {tasks}).
# A task that fails can be rerun alone: sbatch --array=I autograde.sbatch
#SBATCH --job-name=autograde
#SBATCH --array=0-{tasks - 1}%{parallel}
#SBATCH --cpus-per-task={cpus}
#SBATCH --mem={3 * cpus}G
#SBATCH --output=autograde-%A_%a.out
set -euo pipefail
: "${{COURSE_DB_URL:?set COURSE_DB_URL to the gradebook, e.g. postgresql://grader@db-host/course}}"
export COURSE_DB_URL
cd "${{SLURM_SUBMIT_DIR:-.}}"
{task_command("${SLURM_ARRAY_TASK_ID}", tasks, assignments, cpus,
              "autograde-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.log")}
"""


def kube_manifest(tasks: int, parallel: int | None, assignments: list[str], cpus: int = 2,
                  image: str = "dl-medical-imaging:latest") -> str:
    """A Kubernetes Indexed Job: pod I grades student group I of ``tasks``."""
    import yaml
    parallel = _check(tasks, parallel, cpus)
    command = task_command("${JOB_COMPLETION_INDEX}", tasks, assignments, cpus,
                           "logs/autograde-${JOB_COMPLETION_INDEX}.log")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "autograde"},
        "spec": {
            "completionMode": "Indexed",
            "completions": tasks,
            "parallelism": parallel,
            "backoffLimitPerIndex": 1,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "autograde",
                    "image": image,
                    "workingDir": "/course",
                    "command": ["/bin/bash", "-c", "mkdir -p logs && " + command],
                    "env": [{"name": "COURSE_DB_URL",
                             "valueFrom": {"secretKeyRef": {"name": "gradebook", "key": "url"}}}],
                    "resources": {"requests": {"cpu": str(cpus), "memory": f"{3 * cpus}Gi"},
                                  "limits": {"memory": f"{3 * cpus}Gi"}},
                    "volumeMounts": [{"name": "course", "mountPath": "/course"}],
                }],
                "volumes": [{"name": "course", "persistentVolumeClaim": {"claimName": "course"}}],
            }},
        },
    }
    header = ("# Autograde the class as a Kubernetes Indexed Job: pod I grades student group I of "
              f"{tasks}.\n# The course folder is the volume claim 'course' (ReadWriteMany); the "
              "gradebook URL is the secret 'gradebook' (key 'url'):\n#   kubectl create secret generic "
              "gradebook --from-literal=url=postgresql://grader@db-host/course\n#   kubectl apply -f "
              "autograde-job.yaml\n")
    return header + yaml.safe_dump(job, sort_keys=False, width=1000)
