"""The upload's README verdict is readme_renderer's, without rendering the HTML."""

from __future__ import annotations

from typing import Any

import pytest
from readme_renderer import rst as rst_renderer

from bastion.packages import readme
from bastion.packages.models import Release
from tests import builders

RST_DOCUMENTS = {
    "paragraph": "Hello, world.\n",
    "sections and lists": "Title\n=====\n\n* one\n* two\n\n1. a\n2. b\n\nSub\n---\n\ntext\n",
    "title only": "Title\n=====\n",
    "nested lists": "* a\n\n  * b\n\n    * c\n\n      1. d\n",
    "code block": ".. code-block:: python\n\n   print('hi')\n",
    "code block, unknown language": ".. code-block:: nosuchlanguage\n\n   x\n",
    "code role, unknown language": (
        ".. role:: weird(code)\n   :language: nosuchlanguage\n\n:weird:`x` text\n"
    ),
    "table": "=== ===\n a   b\n=== ===\n 1   2\n=== ===\n",
    "field list (docinfo)": ":Author: Someone\n:Version: 1\n",
    "only a comment": ".. a comment\n   that goes on\n",
    "only a target": ".. _home: https://example.org/\n",
    "only a substitution": ".. |name| replace:: bastion\n",
    "comment and target": ".. hello\n\n.. _x: https://example.org/\n",
    "meta only": ".. meta::\n   :keywords: a, b\n",
    "raw html": ".. raw:: html\n\n   <script>x</script>\n",
    "dangling reference": "See `nowhere`_.\n",
    "broken inline": "`broken <\n",
    "bad indentation": "* item\n continued badly\n",
    "unknown directive": ".. nosuchdirective:: x\n",
    "include": ".. include:: /etc/passwd\n",
    "title underline too short": "Title\n==\n\ntext\n",
    "image": ".. image:: https://example.org/a.png\n",
    "scaled image": ".. image:: https://example.org/a.png\n   :scale: 50\n",
    "math": ".. math::\n\n   x^2 + \\frac{1}{2}\n",
    "math role": "Inline :math:`\\alpha` here.\n",
    "footnote": "Text [#]_.\n\n.. [#] The note.\n",
    "contents": ".. contents::\n\nA\n=\n\nB\n=\n",
    "transition only": "para\n\n----\n\npara\n",
    "smart quotes": "\"Quoted\" and 'single' -- dash...\n",
    "duplicate target": ".. _a: https://x.org/\n.. _a: https://y.org/\n\n`a`_\n",
    "admonition": ".. note:: Careful.\n",
    "literal block": "Example::\n\n    code here\n",
    "definition list": "term\n    definition\n",
    "line block": "| line one\n| line two\n",
    "substitution used": "Use |name|.\n\n.. |name| replace:: bastion\n",
    "undefined substitution": "Use |nothing|.\n",
    "language class": '.. class:: language-xx\n\n"Quoted" text.\n',
    "language class, underscore": '.. class:: Language_XX\n\n"Quoted" text.\n',
    "language class, transliterated": '.. class:: \u0142anguage.xx\n\n"Quoted" text.\n',
    "known language class": '.. class:: language-de\n\n"Quoted" text.\n',
    "code role, language option in capitals": (
        ".. role:: weird(code)\n   :LANGUAGE: nosuchlanguage\n\n:weird:`x` text\n"
    ),
    "code directive named like a language class": ".. code:: language-xx\n\n   x\n",
    "the word language, quotes, code": (
        'Any "language" you like.\n\n.. code-block:: python\n\n   print("hi")\n'
    ),
}


@pytest.mark.parametrize("name", sorted(RST_DOCUMENTS))
def test_rst_verdict_matches_readme_renderer(name: str) -> None:
    text = RST_DOCUMENTS[name]
    expected = rst_renderer.render(text) is not None
    assert readme.renders(text, "text/x-rst") is expected
    assert readme.renders(text, "") is expected  # reStructuredText is the default


def test_the_cases_include_both_verdicts() -> None:
    verdicts = {rst_renderer.render(t) is not None for t in RST_DOCUMENTS.values()}
    assert verdicts == {True, False}


def test_markdown_and_plain_text_always_render() -> None:
    assert readme.renders("# Title\n\n```python\nx = 1\n```\n", "text/markdown")
    assert readme.renders("# Title", "text/markdown; variant=CommonMark")
    assert readme.renders("`broken <\n", "text/plain; charset=UTF-8")
    assert not readme.renders("# Title", "text/markdown; variant=Nope")
    assert readme.renders("   \n", "text/x-rst")


def test_render_is_sanitised_html() -> None:
    html = readme.render("Hello <script>alert(1)</script>\n\n* a\n", "text/x-rst")
    assert "<li><p>a</p></li>" in html
    assert "<script" not in html
    md = readme.render("# T\n\n<script>alert(1)</script>\n", "text/markdown")
    assert "<h1" in md and "<script" not in md


def test_render_falls_back_to_plain_text() -> None:
    html = readme.render("`broken <\n", "text/x-rst")
    assert "broken" in html and "<script" not in html
    assert readme.render("", "text/x-rst") == ""


@pytest.mark.django_db(transaction=True)
def test_upload_stores_the_readme_html_when_the_file_is_scanned(upload: Any, token: str) -> None:
    dist = builders.wheel(
        "samplepkg", "1.0", description="Intro\n=====\n\n* point one\n* point two\n"
    )
    assert upload(dist, token).status_code == 200
    release = Release.objects.get()
    assert "<li><p>point one</p></li>" in release.description_html
