"""Read queries whose SQL is compiled once per database, then run with new parameters.

Django turns a queryset into SQL every time it is evaluated: measured here, about half of a
simple look-up's ~360 us is that compilation, against ~30 us for the same SQL through
``connection.cursor()``. The few reads that every upload (and every page) repeats with new
values only -- a project by name, a user's role, an upload's release -- are worth compiling
once. :class:`PreparedQuery` keeps the queryset as the one definition of such a read (its
filters, columns, annotations, ``select_related``), compiles it on first use per database
alias, and afterwards only executes the SQL and builds the model instances as Django would.

How the parameters are found: the queryset is built twice with two sets of stand-in values
("probes") of the declared types and compiled both times. A parameter that differs between the
two is an argument's, and must be exactly that argument's probe (a lookup that transforms its
value, such as ``icontains``, is refused); one that is the same both times is a constant of
the query (``packagetype="sdist"``). The SQL must be the same both times and contain no probe.
A call whose arguments are not of the declared types (``None`` becomes ``IS NULL`` in SQL)
is answered by the queryset itself.

What is compiled (the SQL, where each argument goes, Django's converters of the columns) is
shared by every thread: it depends only on the database's vendor and settings, the same for
every connection of an alias.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

__all__ = ["PreparedQuery"]

M = TypeVar("M", bound=Model)

#: The types an argument may have: values that the ORM passes to the database unchanged.
_PROBE_TYPES: tuple[type, ...] = (str, int)
_probe_counter = itertools.count()


def _probes(types: tuple[type, ...]) -> tuple[object, ...]:
    """Stand-in values no real argument or constant equals (a negative id, a tagged string)."""
    values: list[object] = []
    for kind in types:
        n = next(_probe_counter)
        values.append(-(10**15) - n if kind is int else f"<prepared probe {n}>")
    return tuple(values)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: For each SQL parameter: ``(True, i)`` for argument ``i``, ``(False, value)`` for a constant.
    params: tuple[tuple[bool, Any], ...]
    model: type[Model]
    init_list: list[str]
    model_slice: slice
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    annotations: tuple[tuple[str, int], ...]
    populators: list[Any]


class PreparedQuery(Generic[M]):
    """A read defined by ``build(*args)`` (a queryset of model instances), compiled once.

    ``types`` are the arguments' types (``str`` or ``int``). ``fetch(*args)`` returns what
    ``list(build(*args))`` would, without compiling the SQL again::

        _PROJECT_BY_NAME = PreparedQuery(
            lambda name: Project.objects.filter(normalized_name=name)[:1], str
        )
        projects = _PROJECT_BY_NAME.fetch("samplepkg")
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *types: type) -> None:
        for kind in types:
            if kind not in _PROBE_TYPES:
                raise TypeError(f"PreparedQuery arguments are str or int, not {kind!r}")
        self._build = build
        self._types = types
        #: Per (database alias, vendor): a process uses one database, tests may use two.
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._model_class: type[Model] | None = None

    def fetch(self, *args: Any) -> list[M]:
        if len(args) != len(self._types) or any(
            type(value) is not kind for value, kind in zip(args, self._types, strict=True)
        ):
            return list(self._build(*args))  # None, a model instance...: the ORM decides
        alias = router.db_for_read(self._model())
        connection = connections[alias]
        compiled = self._compiled.get((alias, connection.vendor))
        if compiled is None:
            compiled = self._compiled[(alias, connection.vendor)] = self._compile(alias)
        values = [args[ref] if is_arg else ref for is_arg, ref in compiled.params]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        return [self._instance(compiled, row, connection) for row in rows]

    def first(self, *args: Any) -> M | None:
        """The first instance :meth:`fetch` returns, or None (slice the queryset to ``[:1]``)."""
        found = self.fetch(*args)
        return found[0] if found else None

    def _model(self) -> type[Model]:
        if self._model_class is None:
            self._model_class = self._build(*_probes(self._types)).model
        return self._model_class

    def _compile(self, alias: str) -> _Compiled:
        first_probes, second_probes = _probes(self._types), _probes(self._types)
        queryset = self._build(*first_probes)
        if (
            queryset._iterable_class is not ModelIterable
            or bool(getattr(queryset, "_prefetch_related_lookups", None))
            or bool(getattr(queryset, "_known_related_objects", None))
        ):
            raise ValueError("PreparedQuery runs querysets of model instances, without prefetch")
        compiler = queryset.query.get_compiler(using=alias)
        sql, first_params = compiler.as_sql()
        second_sql, second_params = (
            self._build(*second_probes).query.get_compiler(using=alias).as_sql()
        )
        if sql != second_sql or len(first_params) != len(second_params):
            raise ValueError(f"the SQL of {self._build!r} depends on its arguments' values")
        params: list[tuple[bool, Any]] = []
        for first, second in zip(first_params, second_params, strict=True):
            if first == second and first not in first_probes:
                params.append((False, first))  # a constant of the query
                continue
            matches = [
                i
                for i, (a, b) in enumerate(zip(first_probes, second_probes, strict=True))
                if first == a and second == b and type(first) is type(a)
            ]
            if len(matches) != 1:
                raise ValueError(
                    f"a parameter of {self._build!r} is not one argument's value as given: "
                    f"{first!r}"
                )
            params.append((True, matches[0]))
        if any(str(probe) in sql for probe in first_probes + second_probes):
            raise ValueError(f"{self._build!r} writes an argument into its SQL")
        select, klass_info = compiler.select, compiler.klass_info
        if compiler.has_composite_fields([s[0] for s in select]):
            raise ValueError("PreparedQuery does not read composite primary keys")
        assert klass_info is not None
        fields = klass_info["select_fields"]
        converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        return _Compiled(
            sql=sql,
            params=tuple(params),
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[fields[0] : fields[-1] + 1]],
            model_slice=slice(fields[0], fields[-1] + 1),
            converters=tuple(
                (pos, tuple(convs), expression) for pos, (convs, expression) in converters.items()
            ),
            annotations=tuple(compiler.annotation_col_map.items()),
            # Django 5.2's signature (the stubs describe a later one).
            populators=get_related_populators(klass_info, select, alias),  # type: ignore[call-arg]
        )

    @staticmethod
    def _instance(compiled: _Compiled, raw: tuple[Any, ...], connection: Any) -> M:
        """One row as ``ModelIterable`` makes it: converted values, the model's fields, then
        ``select_related`` objects and annotations."""
        row = list(raw)
        for pos, convs, expression in compiled.converters:
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
        obj = compiled.model.from_db(
            connection.alias, compiled.init_list, row[compiled.model_slice]
        )
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, pos in compiled.annotations:
            setattr(obj, name, row[pos])
        return obj  # type: ignore[return-value]
