"""A static look at a submission's code, for the instructor.

The run-time refusal (:mod:`medgrade.guard`) decides whether a call used the
library; it runs inside the worker, which the submission controls. This scan
reads the answer cells' source in the grading process (parsed, never run) and
lists constructs an instructor may want to look at: the library's own version
of an exercise reached by attribute, dynamic code (``exec``, ``eval``,
``importlib``, ``__import__``, ``getattr`` with a computed name), operator
tables and dispatch modes (``torch.ops``, ``TorchDispatchMode``), process and
interpreter tricks (``os._exit``, ``fork``, ``ctypes``, ``gc``, frames), and
mentions of the grading package. A flag costs no points: it is a pointer for a
human, shown in nbgrader's log, in the autograded notebook and in the
self-learner's summary.
"""
from __future__ import annotations

import ast
from typing import Iterable

_DYNAMIC = {"exec": "runs code built at run time (exec)", "eval": "evaluates code built at run time (eval)",
            "compile": "compiles code at run time", "__import__": "imports by name at run time (__import__)"}
_MODULES = {"importlib": "imports by name at run time (importlib)", "ctypes": "uses ctypes",
            "gc": "inspects the garbage collector", "inspect": "inspects the interpreter (inspect)",
            "medgrade": "mentions the grading package", "hypothesis": "mentions the test generator",
            "subprocess": "starts processes (subprocess)", "multiprocessing": "starts processes (multiprocessing)",
            "signal": "handles signals"}
_ATTRIBUTES = {"_exit": "ends the process (os._exit)", "fork": "forks the process", "kill": "sends signals",
               "_getframe": "walks the interpreter's stack frames", "get_objects": "lists every live object (gc)",
               "modules": "touches sys.modules", "ops": "reaches operators by name (torch.ops)",
               "TorchDispatchMode": "defines or disables a dispatch mode",
               "_python_dispatch": "touches torch's dispatch internals",
               "_disable_current_modes": "switches dispatch modes off",
               "_C": "reaches torch's C++ bindings (torch._C)",
               "displayhook": "replaces the display hook", "showtraceback": "replaces the traceback display"}


_HOOKS = {"__torch_function__", "__torch_dispatch__", "__eq__", "__bool__", "__array__"}
_LIBRARY_ROOTS = {"torch", "torchvision", "np", "numpy", "F", "nn", "time", "random", "os", "sys", "builtins"}


def _library_target(target: ast.AST) -> str:
    """'torch.allclose' when an assignment replaces an attribute of a library module."""
    parts = []
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    if isinstance(target, ast.Name) and parts and target.id in _LIBRARY_ROOTS:
        return ".".join([target.id, *reversed(parts)])
    return ""


def _norm(name: str) -> str:
    return name.replace("_", "")


def _library_versions(tasks: Iterable[str]) -> set[str]:
    """conv2d -> conv2d, batchnorm_forward -> batchnorm (torch's batch_norm): the functional
    forms are lower case, so module classes (nn.Conv2d) are not taken for them."""
    names = set()
    for t in tasks:
        n = _norm(t)
        names.add(n)
        for suffix in ("forward", "backward"):
            if n.endswith(suffix) and len(n) > len(suffix) + 2:
                names.add(n[: -len(suffix)])
    return names


def flags(cells: Iterable[str], tasks: Iterable[str] = ()) -> list[str]:
    """One line per suspicious construct, with the answer cell and line it is on."""
    from IPython.core.inputtransformer2 import TransformerManager
    transform = TransformerManager().transform_cell
    exercises = _library_versions(tasks)
    found: list[str] = []

    def flag(cell: int, node: ast.AST, what: str) -> None:
        line = f"answer cell {cell}, line {getattr(node, 'lineno', '?')}: {what}"
        if line not in found:
            found.append(line)

    for i, source in enumerate(cells, start=1):
        try:
            tree = ast.parse(transform(source))
        except (SyntaxError, ValueError):
            flag(i, ast.Module(body=[], type_ignores=[]), "does not parse as Python")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in _DYNAMIC:
                flag(i, node, _DYNAMIC[node.id])
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom)
                                                        and node.module else [])
                for name in names:
                    root = name.split(".")[0]
                    if root in _MODULES:
                        flag(i, node, _MODULES[root])
                    for part in name.split(".")[1:]:
                        if part in _ATTRIBUTES:
                            flag(i, node, _ATTRIBUTES[part])
                    if isinstance(node, ast.ImportFrom) and _norm(name.split(".")[-1]) in exercises:
                        flag(i, node, f"imports {name}, a library version of an exercise")
            elif isinstance(node, ast.Attribute):
                if node.attr in _ATTRIBUTES and not (node.attr == "modules" and not (
                        isinstance(node.value, ast.Name) and node.value.id == "sys")):   # nn.Module.modules()
                    flag(i, node, _ATTRIBUTES[node.attr])
                if _norm(node.attr) in exercises:
                    flag(i, node, f"uses .{node.attr}, a library version of an exercise")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _HOOKS:
                flag(i, node, f"defines {node.name}")
            elif isinstance(node, ast.Assign) and any(_library_target(t) for t in node.targets):
                flag(i, node, f"replaces {next(_library_target(t) for t in node.targets if _library_target(t))}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("getattr", "setattr") and len(node.args) >= 2 \
                    and not isinstance(node.args[1], ast.Constant):
                flag(i, node, f"{node.func.id} with a computed name")
    return found
