"""A static reading of a submission's answer cells, in the grading process (parsed, never run).

Two kinds of findings:

- **The grader's machinery** (``costs``): code that reaches what the grading worker uses to
  watch a call or to report on it. The worker is the student's own process, so an observer in
  it can be switched off from inside: torch's dispatch- and function-mode internals
  (``torch.utils._python_dispatch``, ``__torch_dispatch__``, ``torch._C``, ``torch.ops``),
  the grading package, objects of the libraries the worker uses (``torch.equal = ...``),
  tracing and profiling hooks (``sys.settrace``, ``sys.setprofile``, ``sys.monitoring``),
  ``gc`` and frame snooping (``gc.get_objects``, ``sys._getframe``, ``f_back``), raw memory
  (``ctypes``), and every way of hiding which name is reached: ``exec`` / ``eval`` /
  ``compile``, imports by computed name, ``getattr`` with a computed name, ``__dict__``,
  ``vars()``, ``globals()``, decoding of hidden text (``base64``, ``codecs``), code objects.
  Such a finding costs the points of the task whose answer cell holds it, of every task whose
  answer cell uses what that cell defines, and, at the top level of a cell (where it changes
  the state every later call runs in), of every task; those grade cells wait for an instructor
  (nbgrader's manual grading), who can restore the points. Honest answers use none of this.
- **Worth a look** (no points at stake): constructs an instructor may want to read (ending the
  process, forking, signals, the library's own version of an exercise reached by attribute).
  The run-time checks decide those (a crash, a timeout, the library refused during the call).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable

# ------------------------------------------------------------ what reaches the machinery

# Modules whose use reaches the grader or hides what the code does.
_MACHINE_MODULES = {
    "medgrade": "uses the grading package", "ctypes": "uses raw memory and native calls (ctypes)",
    "_ctypes": "uses raw memory and native calls (ctypes)", "cffi": "calls native code (cffi)",
    "importlib": "imports by a computed name (importlib)", "builtins": "reaches Python's builtins module",
    "runpy": "runs code by name (runpy)", "code": "runs code built at run time (code)",
    "codeop": "compiles code at run time (codeop)", "marshal": "loads code objects (marshal)",
    "pickle": "loads objects from bytes (pickle)", "dill": "loads objects from bytes (dill)",
    "cloudpickle": "loads objects from bytes (cloudpickle)", "base64": "decodes hidden text (base64)",
    "binascii": "decodes hidden text (binascii)", "codecs": "decodes hidden text (codecs)",
    "zlib": "decompresses hidden data (zlib)", "bz2": "decompresses hidden data (bz2)",
    "lzma": "decompresses hidden data (lzma)", "unittest.mock": "patches objects (unittest.mock)",
    "mock": "patches objects (mock)", "_thread": "reaches the interpreter's threads (_thread)",
    "pkgutil": "resolves names at run time (pkgutil)", "imp": "imports by a computed name (imp)",
    "zipimport": "imports from archives (zipimport)", "torch.utils.cpp_extension": "compiles native code",
    "numpy.ctypeslib": "uses raw memory and native calls (ctypeslib)",
}
# Names that belong to torch's dispatch and override machinery (attributes, imports, strings).
_TORCH_INTERNALS = {
    "_C", "_python_dispatch", "_disable_current_modes", "_pop_mode", "_pop_mode_temporarily", "_push_mode",
    "_get_current_dispatch_mode", "_get_current_dispatch_mode_stack", "_set_current_dispatch_mode",
    "TorchDispatchMode", "TorchFunctionMode", "_get_current_function_mode", "_get_current_function_mode_stack",
    "DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch", "_ExcludeDispatchKeyGuard",
    "_IncludeDispatchKeyGuard", "_unset_dispatch_mode", "_set_dispatch_mode", "_ops", "_dispatch", "overrides",
    "_subclasses", "_dynamo", "_inductor", "_library", "library", "_prims", "_refs", "_decomp",
    "_higher_order_ops", "_functorch", "__torch_dispatch__", "__torch_function__",
    "_disabled_torch_function_impl", "_disable_profiler", "_jit_internal", "_mode_stack", "load_library",
    "cpp_extension", "ctypeslib",
}
# Attributes of Python's own machinery: frames, code, namespaces, the class graph.
_PYTHON_INTERNALS = {
    "__dict__", "__globals__", "__builtins__", "__code__", "__closure__", "__subclasses__", "__bases__",
    "__base__", "__mro__", "__getattribute__", "__import__", "__loader__", "__spec__", "__self__", "__func__",
    "__wrapped__", "__defaults__", "__kwdefaults__", "__reduce__", "__reduce_ex__", "__setattr__",
    "__delattr__", "__getattr__", "__class_getitem__", "f_back", "f_locals", "f_globals", "f_code",
    "f_builtins", "f_trace", "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame", "gi_code", "co_code",
    "co_consts", "co_names",
}
# Module attributes that trace, profile or snoop, by module.
_MODULE_ATTRIBUTES = {
    "sys": {"_getframe", "_current_frames", "settrace", "setprofile", "gettrace", "getprofile", "monitoring",
            "addaudithook", "modules", "meta_path", "path_hooks", "path_importer_cache", "_clear_type_cache"},
    "threading": {"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads"},
    "gc": {"get_objects", "get_referrers", "get_referents", "garbage", "callbacks", "freeze", "unfreeze",
           "get_freeze_count", "is_tracked", "is_finalized"},
    "inspect": {"currentframe", "stack", "trace", "getouterframes", "getinnerframes", "getframeinfo",
                "getgeneratorlocals", "getcoroutinelocals", "getclosurevars", "getmembers_static"},
    "types": {"CodeType", "FunctionType", "LambdaType", "ModuleType", "FrameType", "TracebackType",
              "MethodType", "CellType"},
    "operator": {"attrgetter", "methodcaller"},
    "torch": {"ops", "compile"},            # torch.compile: generated kernels, run below the recorder
}
_MACHINE_BUILTINS = {"exec": "runs code built at run time (exec)", "eval": "evaluates code built at run time (eval)",
                     "compile": "compiles code at run time", "__import__": "imports by name at run time (__import__)",
                     "globals": "reads the notebook's namespace (globals)", "locals": "reads a namespace (locals)",
                     "vars": "reads an object's namespace (vars)", "breakpoint": "starts a debugger"}
_COMPUTED = {"getattr", "setattr", "delattr", "hasattr"}
# settings of torch's that honest code changes (reproducibility, TF32): not a patch
_SETTINGS = ("torch.backends.",)

# ------------------------------------------------------------ worth a look (no points at stake)

_LOOK_MODULES = {"subprocess": "starts processes (subprocess)", "multiprocessing": "starts processes (multiprocessing)",
                 "signal": "handles signals", "hypothesis": "mentions the test generator", "socket": "opens sockets"}
_LOOK_ATTRIBUTES = {"_exit": "ends the process (os._exit)", "fork": "forks the process", "kill": "sends signals",
                    "displayhook": "replaces the display hook", "showtraceback": "replaces the traceback display"}
_LOOK_HOOKS = {"__eq__", "__bool__", "__array__"}


@dataclass(frozen=True)
class Finding:
    cell: str            # the answer cell's grade id
    line: int
    what: str
    costs: bool          # the grader's machinery: the cell's tasks lose their points
    top: bool = False    # at the cell's top level: runs when the notebook's cells run

    def __str__(self) -> str:
        return f"answer cell '{self.cell}', line {self.line}: {self.what}"


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


def _parse(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def _aliases(tree: ast.Module | None, known: dict[str, str]) -> dict[str, str]:
    """Names bound to modules (or their attributes) by imports and plain assignments."""
    found = dict(known)
    if tree is None:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                found[a.asname or a.name] = f"{node.module}.{a.name}"
    return found


class _Reader(ast.NodeVisitor):
    def __init__(self, cell: str, aliases: dict[str, str], exercises: set[str]):
        self.cell, self.aliases, self.exercises = cell, dict(aliases), exercises
        self.found: list[Finding] = []
        self.depth = 0                          # > 0 inside a def or class body

    def add(self, node: ast.AST, what: str, costs: bool) -> None:
        f = Finding(self.cell, getattr(node, "lineno", 0), what, costs, self.depth == 0)
        if f not in self.found:
            self.found.append(f)

    # -- names
    def dotted(self, node: ast.AST) -> str | None:
        """'torch.nn.functional.conv2d' for an attribute chain on a known alias; None otherwise."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def module_name(self, name: str) -> None | tuple[str, bool]:
        root = name.split(".")[0]
        for module, why in _MACHINE_MODULES.items():
            if name == module or name.startswith(module + "."):
                return why, True
        for part in name.split(".")[1:]:
            if part in _TORCH_INTERNALS or part in _PYTHON_INTERNALS:
                return f"reaches {name}", True
        if root in _LOOK_MODULES:
            return _LOOK_MODULES[root], False
        return None

    def visit_scope(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in ("__torch_function__", "__torch_dispatch__"):
            self.add(node, f"defines {node.name} (torch's override machinery)", True)
        elif node.name in _LOOK_HOOKS:
            self.add(node, f"defines {node.name}", False)
        for deco in node.decorator_list:
            self.visit(deco)
        self.depth += 1
        for child in (node.args, *node.body):
            self.visit(child)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_scope
    visit_Lambda = visit_scope

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.import_name(node, a.name)
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for a in node.names:
            self.import_name(node, f"{module}.{a.name}" if module else a.name)
            if a.name in _TORCH_INTERNALS or a.name in _PYTHON_INTERNALS:
                self.add(node, f"imports {a.name} (the grader's machinery)", True)
            owner = module.split(".")[-1]
            if a.name in _MODULE_ATTRIBUTES.get(owner, ()):
                self.add(node, f"imports {module}.{a.name}", True)
            if _norm(a.name) in self.exercises and module:
                self.add(node, f"imports {module}.{a.name}, a library version of an exercise", False)
            self.aliases[a.asname or a.name] = f"{module}.{a.name}"

    def import_name(self, node: ast.AST, name: str) -> None:
        found = self.module_name(name)
        if found:
            self.add(node, found[0], found[1])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.attribute(node, node.attr, node.value)
        self.generic_visit(node)

    def attribute(self, node: ast.AST, attr: str, owner: ast.AST) -> None:
        base = self.dotted(owner) if isinstance(owner, (ast.Name, ast.Attribute)) else None
        module = base.split(".")[-1] if base else None
        root = base.split(".")[0] if base else None
        generic = attr in ("library", "overrides", "load_library")     # names other objects use too
        if attr in _PYTHON_INTERNALS:
            self.add(node, f"reaches .{attr} (Python's internals)", True)
        elif attr in _TORCH_INTERNALS and (not generic or root == "torch"):
            self.add(node, f"reaches {base + '.' if base else '.'}{attr} (torch's dispatch machinery)", True)
        elif module in _MODULE_ATTRIBUTES and attr in _MODULE_ATTRIBUTES[module]:
            self.add(node, f"uses {base}.{attr}", True)
        elif attr == "ops" and base is None and not (isinstance(owner, ast.Name) and owner.id == "self"):
            self.add(node, "reaches .ops of an object it does not name (operators by name)", True)
        elif base and (found := self.module_name(f"{base}.{attr}")) and found[1]:
            self.add(node, found[0], True)
        if attr in _LOOK_ATTRIBUTES:
            self.add(node, _LOOK_ATTRIBUTES[attr], False)
        if _norm(attr) in self.exercises and root not in (None, "self"):
            self.add(node, f"uses .{attr}, a library version of an exercise", False)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases:
            return
        if node.id in _MACHINE_BUILTINS:
            self.add(node, _MACHINE_BUILTINS[node.id], True)
        elif node.id in _COMPUTED:                  # getattr passed around: a lookup by computed name
            self.add(node, f"passes {node.id} around (a lookup by computed name)", True)
        elif node.id in _PYTHON_INTERNALS:
            self.add(node, f"reaches {node.id}", True)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) and func.id not in self.aliases else None
        if name in _COMPUTED:
            key = node.args[1] if len(node.args) >= 2 else None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.attribute(node, key.value, node.args[0])
                if name in ("setattr", "delattr"):
                    self.patch(node, node.args[0], key.value)
            else:
                self.add(node, f"{name} with a computed name", True)
        elif name == "vars" and node.args and not (isinstance(node.args[0], (ast.Name, ast.Attribute))
                                                   and self.dotted(node.args[0])):
            pass                                    # vars(self): an object's own fields
        else:
            self.visit(func)
        for child in (*node.args, *node.keywords):
            self.visit(child)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return                                  # a docstring or a bare string: text, not a name
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, (str, bytes)):
            text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            words = set(_words(text))
            hit = sorted(words & (_TORCH_INTERNALS - {"library", "overrides"} | _PYTHON_INTERNALS | {"medgrade"}))
            if hit:
                self.add(node, f"names {hit[0]} in a string (the grader's machinery)", True)

    # -- patches
    def patch(self, node: ast.AST, owner: ast.AST, attr: str) -> None:
        base = self.dotted(owner) if isinstance(owner, (ast.Name, ast.Attribute)) else None
        if base is None and isinstance(owner, ast.Name) and owner.id in ("__builtins__",):
            base = "builtins"
        if base is not None and not f"{base}.{attr}".startswith(_SETTINGS):
            self.add(node, f"replaces {base}.{attr} (patches a library the grading worker uses)", True)

    def targets(self, node: ast.AST, targets: list[ast.AST]) -> None:
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, ast.Attribute):
                    self.patch(node, t.value, t.attr)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.targets(node, node.targets)
        for target in node.targets:             # t = torch: t is torch from now on
            if isinstance(target, ast.Name) and isinstance(node.value, (ast.Name, ast.Attribute)):
                base = self.dotted(node.value)
                if base:
                    self.aliases[target.id] = base
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.targets(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.targets(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        self.targets(node, node.targets)
        self.generic_visit(node)


def _words(text: str) -> list[str]:
    out, word = [], []
    for ch in text:
        if ch.isalnum() or ch == "_":
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def findings(setup: str, cells: list[tuple[str, str]], tasks: Iterable[str] = ()) -> list[Finding]:
    """What the answer cells ``cells`` ((grade id, source) pairs) hold, given the names the
    trusted setup cell imports (it is not read for findings)."""
    aliases = _aliases(_parse(setup), {})
    exercises = _library_versions(tasks)
    found: list[Finding] = []
    for gid, source in cells:
        tree = _parse(source)
        if tree is None:
            found.append(Finding(gid, 0, "does not parse as Python", False, True))
            continue
        reader = _Reader(gid, aliases, exercises)
        reader.visit(tree)
        found += reader.found
        aliases = _aliases(tree, aliases)
    return found


def defined_names(source: str) -> set[str]:
    """Top-level names a cell binds (functions, classes, assignments, imports)."""
    tree = _parse(source)
    names: set[str] = set()
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _used_names(source: str) -> set[str]:
    tree = _parse(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


@dataclass
class Charges:
    """What the findings of the machinery cost: task -> the findings charged to it, and whether
    one runs at the top level of a cell (then every other grade cell waits for a person too)."""
    tasks: dict[str, list[Finding]]
    everywhere: bool


def charges(cells: list[tuple[str, str]], found: list[Finding], tasks: Iterable[str]) -> Charges:
    """The tasks a finding of the machinery costs: those whose function is defined in the answer
    cell that holds it, and those whose cell uses (directly or through other answer cells) a name
    that a charged cell defines. A task's cell is the last answer cell that defines its function
    (the one in effect), else its own answer cell (grade id ``<task>_answer``)."""
    costly = [f for f in found if f.costs]
    if not costly:
        return Charges({}, False)
    defines = {gid: defined_names(src) for gid, src in cells}
    uses = {gid: _used_names(src) for gid, src in cells}
    charged = {f.cell for f in costly}
    while True:
        tainted = set().union(*(defines.get(g, set()) for g in charged))
        more = {g for g in uses if g not in charged and uses[g] & tainted}
        if not more:
            break
        charged |= more
    out: dict[str, list[Finding]] = {}
    for task in tasks:
        home = [gid for gid, _ in cells if task in defines[gid]]
        cell = home[-1] if home else f"{task}_answer"
        if cell in charged:
            out[task] = [f for f in costly if f.cell == cell] or costly
    return Charges(out, any(f.top for f in costly))
