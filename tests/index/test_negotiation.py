"""Content negotiation of the simple API (PEP 691) as PyPI does it: HTML unless JSON is asked
for by name and weighed above the HTML types."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.index.responder import HTML_V1, JSON_V1, TEXT_HTML, negotiate

# The Accept headers the installers send (tests/e2e/test_client_accept.py reads them off the
# wire from the installed pip and uv).
PIP = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
UV = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        (PIP, JSON_V1),
        (UV, JSON_V1),
        (None, TEXT_HTML),
        ("", TEXT_HTML),
        ("*/*", TEXT_HTML),  # curl, requests, httpx, a browser's fallback
        ("text/*", TEXT_HTML),
        ("application/*", HTML_V1),  # the first of PyPI's offers it matches
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", TEXT_HTML),  # a browser
        (JSON_V1, JSON_V1),
        (HTML_V1, HTML_V1),
        (f"{JSON_V1}, */*", TEXT_HTML),  # a tie: PyPI's order decides
        (f"{JSON_V1}, */*;q=0.5", JSON_V1),
        (f"{JSON_V1};q=0.5, */*", TEXT_HTML),
        (f"*/*;q=0.1, {JSON_V1};q=0", TEXT_HTML),  # the exact range's q=0 beats the wildcard
        (f"{JSON_V1};q=0", TEXT_HTML),  # nothing acceptable: HTML, as PyPI answers
        ("application/unknown", TEXT_HTML),
        (f"text/html;q=0.5, {JSON_V1};q=0.9", JSON_V1),
        (f"{JSON_V1};q=0.1, text/html", TEXT_HTML),
        (f"{JSON_V1};q=nan, text/html;q=0.1", TEXT_HTML),  # a malformed weight drops its range
        (f"{JSON_V1};q=2", TEXT_HTML),
        (f"  {JSON_V1.upper()} ; Q=1 ", JSON_V1),
        (f"*/json, {HTML_V1};q=0.3", HTML_V1),  # "*/json" is not a media range
    ],
)
def test_pypis_choice(accept: str | None, served: str) -> None:
    assert negotiate(accept) == served


@given(st.text(max_size=300))
def test_any_accept_value_gets_a_type(accept: str) -> None:
    assert negotiate(accept) in (TEXT_HTML, HTML_V1, JSON_V1)
