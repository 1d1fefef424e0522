"""Which code in a module runs when the module is imported.

Importing a module runs its body: statements, class bodies, decorators, default arguments.
A function's body runs only when something calls it. A library's ``__init__`` full of network
and process calls inside functions (an HTTP client, a clipboard helper, an installer of
node.js) does nothing on import; malware that wants to run on import must call its payload
from the module body, directly or through functions the body calls, threads it starts or
hooks it registers, all of which name the function somewhere the body reaches.

:func:`deferred_ranges` returns the line ranges of code that the module body does not reach:
functions and methods never named by reachable code, and ``if __name__ == "__main__":``
blocks (run as a script, not on import). It is an over-approximation of what runs (any
mention of a name counts as a call), which is the safe direction for a scanner: code is only
moved out of "on import" when nothing reachable mentions it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

#: Methods Python calls on its own once the class is used.
IMPLICIT_METHODS = frozenset(
    {
        "__init__",
        "__new__",
        "__call__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
        "__del__",
        "__init_subclass__",
        "__set_name__",
        "__class_getitem__",
        "__getattr__",
        "__getattribute__",
        "__setattr__",
        "__get__",
        "__set__",
        "__post_init__",
        "__iter__",
        "__next__",
        "__str__",
        "__repr__",
        "__format__",
        "__hash__",
        "__eq__",
        "__bool__",
        "__len__",
        "__missing__",
    }
)

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Names:
    refs: set[str] = field(default_factory=set)  # every name mentioned
    calls: set[str] = field(default_factory=set)  # names called: ``f()``, ``obj.f()``, ``K()``


@dataclass
class _Scope:
    name: str
    owner: str  # enclosing class at module level, or ""
    start: int
    end: int
    names: _Names = field(default_factory=_Names)


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    consts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return "__name__" in names and "__main__" in consts


class _Passive:
    """The module's own functions that never call their parameters, asked one name at a time
    (most calls are not to such a function; walking every function up front doubled the
    cost of a large module)."""

    def __init__(self, tree: ast.Module) -> None:
        self._defs = {
            stmt.name: stmt
            for stmt in tree.body
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self._known: dict[str, bool] = {}

    def __contains__(self, name: object) -> bool:
        fn = self._defs.get(name) if isinstance(name, str) else None
        if fn is None:
            return False
        if fn.name not in self._known:
            self._known[fn.name] = not _calls_a_parameter(fn)
        return self._known[fn.name]


def _refs(nodes: list[ast.AST], into: _Names, passive: _Passive | None = None) -> None:
    """Add every name ``nodes`` mention (variables, attributes, and strings handed to a call
    or an index: ``getattr(mod, "run")``, ``globals()["run"]``) to ``into.refs``, and every
    name they call to ``into.calls``. Arguments of a call to one of ``passive`` (functions of
    the module that never call their parameters) are skipped: handing a function to a wrapper
    does not run it."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            into.refs.add(node.id)
        elif isinstance(node, ast.Attribute):
            into.refs.add(node.attr)
        elif isinstance(node, ast.Call | ast.Subscript):
            keys = node.args if isinstance(node, ast.Call) else [node.slice]
            into.refs.update(
                arg.value
                for arg in keys
                if isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and arg.value.isidentifier()
            )
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name:
                    into.calls.add(name)
                if passive is not None and isinstance(func, ast.Name) and func.id in passive:
                    into.refs.add(func.id)
                    continue
        stack.extend(ast.iter_child_nodes(node))


def _calls_a_parameter(fn: FuncNode) -> bool:
    """Whether a function calls something it was handed (a runner: ``def later(f): f()``)."""
    params = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
    for extra in (fn.args.vararg, fn.args.kwarg):
        if extra is not None:
            params.add(extra.arg)
    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in params
        for sub in ast.walk(fn)
    )


def _function_outer_parts(fn: FuncNode) -> list[ast.AST]:
    """What a ``def`` statement evaluates where it stands: decorators, defaults, annotations."""
    parts: list[ast.AST] = [*fn.decorator_list, *fn.args.defaults]
    parts.extend(d for d in fn.args.kw_defaults if d is not None)
    return parts


def deferred_ranges(tree: ast.Module) -> list[tuple[int, int, str]]:
    """``(first line, last line, name)`` of each piece of code an import does not run."""
    scopes: list[_Scope] = []
    module = _Names()
    deferred: list[tuple[int, int, str]] = []
    passive = _Passive(tree)

    def function(fn: FuncNode, owner: str) -> None:
        _refs(_function_outer_parts(fn), module, passive)
        scope = _Scope(fn.name, owner, fn.lineno, fn.end_lineno or fn.lineno)
        _refs(list(fn.body), scope.names, passive)
        scopes.append(scope)

    def statements(body: list[ast.stmt], owner: str) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function(stmt, owner)
            elif isinstance(stmt, ast.ClassDef):
                _refs([*stmt.bases, *stmt.keywords, *stmt.decorator_list], module, passive)
                statements(stmt.body, owner or stmt.name)
            elif not owner and _is_main_guard(stmt):
                assert isinstance(stmt, ast.If)
                end = stmt.body[-1].end_lineno or stmt.lineno
                deferred.append((stmt.lineno, end, "__main__"))
                _refs(list(stmt.orelse), module, passive)
            elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and not owner:
                # definitions under a module-level if/try are still module-level definitions
                _refs(_headers(stmt), module, passive)
                for block in _blocks(stmt):
                    statements(block, owner)
            else:
                _refs([stmt], module, passive)

    statements(tree.body, "")
    # A function runs once reached code names it (a call, a thread's target, a hook); a
    # method once reached code creates its class (``K()``) and names the method, or Python
    # calls it itself (``__init__``...). A class only named (in a table, in ``__all__``)
    # creates nothing.
    # A worklist, not rounds over every scope: each name and each scope is taken once, so a
    # module of many functions calling one another costs what its names cost.
    functions: dict[str, list[_Scope]] = {}
    methods_named: dict[str, list[_Scope]] = {}
    methods_of: dict[str, list[_Scope]] = {}
    for scope in scopes:
        if scope.owner:
            methods_named.setdefault(scope.name, []).append(scope)
            methods_of.setdefault(scope.owner, []).append(scope)
        else:
            functions.setdefault(scope.name, []).append(scope)
    refs: set[str] = set()
    calls: set[str] = set()
    reached: set[int] = set()
    queue: list[_Scope] = []

    def reach(scope: _Scope) -> None:
        if id(scope) not in reached:
            reached.add(id(scope))
            queue.append(scope)

    def named(names: set[str]) -> None:
        for name in names - refs:
            refs.add(name)
            for scope in functions.get(name, ()):
                reach(scope)
            for scope in methods_named.get(name, ()):
                if scope.owner in calls:
                    reach(scope)

    def called(names: set[str]) -> None:
        for name in names - calls:
            calls.add(name)
            for scope in methods_of.get(name, ()):
                if scope.name in IMPLICIT_METHODS or scope.name in refs:
                    reach(scope)

    named(module.refs)
    called(module.calls)
    while queue:
        scope = queue.pop()
        named(scope.names.refs)
        called(scope.names.calls)
    pending = [s for s in scopes if id(s) not in reached]
    deferred.extend((s.start, s.end, s.name) for s in pending)
    return sorted(deferred)


def _headers(stmt: ast.stmt) -> list[ast.AST]:
    if isinstance(stmt, ast.If | ast.While):
        return [stmt.test]
    if isinstance(stmt, ast.For):
        return [stmt.target, stmt.iter]
    if isinstance(stmt, ast.With):
        return [item.context_expr for item in stmt.items]
    if isinstance(stmt, ast.Try):
        return [h.type for h in stmt.handlers if h.type is not None]
    return []


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.If | ast.While | ast.For):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, ast.With):
        return [stmt.body]
    if isinstance(stmt, ast.Try):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    return []


def defined_ranges(tree: ast.Module) -> list[tuple[int, int, str]]:
    """``(first line, last line, name)`` of every function and method defined at the module's
    top level or in a top-level class (under module-level ``if``/``try`` too): the module's
    own statements are what lies outside them."""
    out: list[tuple[int, int, str]] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            out.append((stmt.lineno, stmt.end_lineno or stmt.lineno, stmt.name))
        elif isinstance(stmt, ast.ClassDef):
            stack.extend(stmt.body)
        else:
            for block in _blocks(stmt):
                stack.extend(block)
    return sorted(out)
