"""``bastion.prepared.PreparedQuery``: the same instances as the queryset, its SQL compiled
once, and a refusal for the querysets whose SQL it cannot reuse."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from packaging.version import Version

from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release, Role
from bastion.prepared import PreparedQuery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(make_user: Any) -> dict[str, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    with transaction.atomic():
        first = packages.create_project("samplepkg", alice)
        second = packages.create_project("otherpkg", bob)
        packages.add_role(second, alice, Role.MAINTAINER, actor=bob)
        release, _ = packages.get_or_create_release(
            first,
            Version("1.0"),
            metadata={"version": "1.0", "summary": "A summary", "classifiers": ["A :: B"]},
            uploader=alice,
        )
        orphan, _ = packages.get_or_create_release(
            second, Version("2.0"), metadata={}, uploader=bob
        )
    Release.objects.filter(pk=orphan.pk).update(uploader=None, yanked=True)
    return {"alice": alice, "bob": bob, "first": first, "second": second, "release": release}


def _fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_fetch_returns_what_the_queryset_returns(world: dict[str, Any]) -> None:
    """Every field type of a release, converted as Django converts it (datetime, JSON, bool)."""
    prepared = PreparedQuery(
        lambda project_id: Release.objects.filter(project_id=project_id).order_by("pk"), int
    )
    for project in (world["first"], world["second"]):
        expected = list(Release.objects.filter(project_id=project.pk).order_by("pk"))
        got = prepared.fetch(project.pk)
        assert [_fields(r) for r in got] == [_fields(r) for r in expected]
        assert all(type(r) is Release and r._state.db == "default" for r in got)
    assert prepared.fetch(10**9) == []
    assert world["release"].metadata["classifiers"] == ["A :: B"]
    assert prepared.fetch(world["first"].pk)[0].metadata["classifiers"] == ["A :: B"]


def test_the_sql_is_compiled_once(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = PreparedQuery(lambda name: Project.objects.filter(normalized_name=name)[:1], str)
    compiled = 0
    real = SQLCompiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        nonlocal compiled
        compiled += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    assert prepared.first("samplepkg") == world["first"]
    after_first = compiled
    assert after_first > 0
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.first("otherpkg") == world["second"]
        assert prepared.first("nothing") is None
    assert compiled == after_first
    assert len(ctx.captured_queries) == 2


def test_arguments_map_to_their_parameters_whatever_their_order(world: dict[str, Any]) -> None:
    """Arguments given in another order than the SQL's, an argument used twice, a constant."""
    alice, bob = world["alice"], world["bob"]
    swapped = PreparedQuery(
        lambda user_id, project_id: Role.objects.filter(project_id=project_id, user_id=user_id),
        int,
        int,
    )
    assert [r.role_name for r in swapped.fetch(alice.pk, world["second"].pk)] == [Role.MAINTAINER]
    assert swapped.fetch(bob.pk, world["first"].pk) == []
    twice = PreparedQuery(
        lambda name: Project.objects.filter(Q(name=name) | Q(normalized_name=name)).order_by("pk"),
        str,
    )
    assert twice.fetch("otherpkg") == [world["second"]]
    constant = PreparedQuery(
        lambda project_id: Role.objects.filter(project_id=project_id, role_name=Role.OWNER),
        int,
    )
    assert [r.user_id for r in constant.fetch(world["second"].pk)] == [bob.pk]


def test_annotations_and_select_related(world: dict[str, Any]) -> None:
    prepared = PreparedQuery(
        lambda project_id: (
            Release.objects.filter(project_id=project_id)
            .select_related("project")
            .annotate(
                file_count=Count("files"),
                has_sdist=Exists(File.objects.filter(release=OuterRef("pk"), packagetype="sdist")),
            )
        ),
        int,
    )
    (release,) = prepared.fetch(world["first"].pk)
    with CaptureQueriesContext(connection) as ctx:
        assert release.project.normalized_name == "samplepkg"
        assert (release.file_count, release.has_sdist) == (0, False)  # type: ignore[attr-defined]
    assert ctx.captured_queries == []


def test_arguments_of_other_types_are_left_to_the_orm(world: dict[str, Any]) -> None:
    """``None`` is ``IS NULL`` in SQL, not ``= NULL``: the queryset answers that call."""
    prepared = PreparedQuery(
        lambda uploader_id: Release.objects.filter(uploader_id=uploader_id), int
    )
    assert [r.version for r in prepared.fetch(None)] == ["2.0"]
    assert [r.version for r in prepared.fetch(world["alice"].pk)] == ["1.0"]


@pytest.mark.parametrize(
    "build",
    [
        lambda name: Project.objects.filter(name__icontains=name),  # the value is transformed
        lambda name: Project.objects.filter(name=name).values_list("name"),  # not instances
        lambda name: Project.objects.filter(name=name).prefetch_related("roles"),
    ],
)
def test_querysets_whose_sql_cannot_be_reused_are_refused(
    world: dict[str, Any], build: Any
) -> None:
    with pytest.raises(ValueError):
        PreparedQuery(build, str).fetch("samplepkg")


def test_only_str_and_int_arguments() -> None:
    with pytest.raises(TypeError):
        PreparedQuery(lambda when: Project.objects.filter(created=when), float)
