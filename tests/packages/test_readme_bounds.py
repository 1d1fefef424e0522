"""The description is bounded in size and its rendering in time, in the request and in the
background task (adversarial review, issue 11).

Wall-clock assertions here are sanity bounds (the unbounded inputs took minutes), never tight
timings.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bastion.packages import readme
from bastion.packages.models import File, Release
from tests import builders

# The review's inputs: 200,000 '>' as Markdown, and a 1.1 MB nested reStructuredText list.
QUOTES = ">" * 200_000
NESTED_BLOCK = "".join("  " * level + "* x\n\n" for level in range(30))
NESTED_RST = NESTED_BLOCK * (1_100_000 // len(NESTED_BLOCK) + 1)


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def test_deep_markdown_quotes_are_refused_before_rendering() -> None:
    result, seconds = timed(readme.problem, QUOTES, "text/markdown")
    assert result == readme.TOO_DEEP
    assert not readme.renders(QUOTES, "text/markdown")
    assert seconds < 10


def test_large_nested_rst_list_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed a description over the size limit")

    monkeypatch.setattr(readme, "publish_doctree", no_parse)
    assert len(NESTED_RST.encode()) > 1_100_000
    result, seconds = timed(readme.problem, NESTED_RST, "text/x-rst")
    assert result is not None and result.startswith("The description is too large")
    assert seconds < 10


def test_nested_rst_under_the_size_limit_stops_at_its_work_budget() -> None:
    text = NESTED_RST[:500_000]  # parsing it whole took over 20 s
    result, seconds = timed(readme.problem, text, "")
    assert result == readme.TOO_COMPLEX
    assert seconds < 10


def test_rst_nested_beyond_docutils_recursion_is_too_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readme, "VERDICT_SECONDS", 120.0)  # the depth, not a loaded clock
    text = "".join("  " * level + "* x\n\n" for level in range(200))
    assert readme.problem(text, "text/x-rst") == readme.TOO_DEEP


def test_the_size_limit_is_a_setting(bastion_settings: Any) -> None:
    bastion_settings(max_description_size=100)
    assert readme.problem("x" * 101, "text/plain") is not None
    assert readme.problem("é" * 60, "text/plain") is not None  # bytes, not characters
    assert readme.problem("x" * 100, "text/plain") is None


def test_ordinary_nesting_and_thematic_breaks_are_fine() -> None:
    assert readme.nesting("> > quoted twice\n- a\n  - b\n") == 2
    assert readme.nesting("- " * 60 + "-\n") == 0  # a thematic break, not 60 lists
    assert readme.nesting("1. 2. 3. x\n") == 3
    assert readme.renders("> > > fine\n\n* - + x\n", "text/markdown")


def test_render_of_a_deep_description_is_plain_text() -> None:
    html, seconds = timed(readme.render, QUOTES, "text/markdown")
    assert html.startswith("&gt;&gt;&gt;")
    assert seconds < 10


def test_render_that_runs_out_of_time_is_plain_text(bastion_settings: Any) -> None:
    """Native code (html5ever through nh3) on 50,000 nested tags took 20 s; the child that
    renders is killed at the limit, and the next render starts a new one."""
    bastion_settings(description_render_seconds=1)
    text = "<div>" * 50_000 + "<script>x</script>"
    html, seconds = timed(readme.render, text, "text/markdown")
    assert html.startswith("&lt;div&gt;") and "<script" not in html
    assert seconds < 10
    bastion_settings(description_render_seconds=30)
    assert "<h1" in readme.render("# Title\n", "text/markdown")


@pytest.mark.django_db(transaction=True)
def test_upload_with_a_pathological_description_is_refused_quickly(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", description=QUOTES, content_type="text/markdown")
    response, seconds = timed(upload, dist, token)
    assert response.status_code == 400
    assert "The description is too deeply nested to render." in response.reason_phrase
    assert seconds < 10
    assert not File.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_description_the_task_cannot_render_in_time_is_shown_as_text(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(description_render_seconds=1)
    text = "<div>" * 50_000 + "\n"
    dist = builders.wheel("samplepkg", "1.0", description=text, content_type="text/markdown")
    assert upload(dist, token).status_code == 200
    assert File.objects.get().state == File.PUBLISHED
    html = Release.objects.get().description_html
    assert html.startswith("&lt;div&gt;")


@pytest.mark.django_db(transaction=True)
def test_a_description_over_the_size_limit_is_refused_by_the_form(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(max_description_size=1000)
    dist = builders.wheel("samplepkg", "1.0", description="x" * 1001)
    response = upload(dist, token)
    assert response.status_code == 400
    assert "'description' field must be 1000 characters or less." in response.reason_phrase
    # Characters within the limit whose bytes are not: the README check's exact bound.
    dist = builders.wheel("samplepkg", "1.0", description="é" * 600)
    response = upload(dist, token)
    assert response.status_code == 400
    assert "The description is too large (1200 bytes; the limit is 1000 bytes)." in (
        response.reason_phrase
    )
    assert not File.objects.exists()
