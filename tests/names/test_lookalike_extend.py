"""Extending a look-alike index by less popular names gives the index built from the whole
list, so the index of the local projects can grow by one name per new project."""

from __future__ import annotations

import random
import string

from bastion.names import services
from bastion.names.lookalike import LookalikeIndex


def _names(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + "-_."
    out = ["requests", "numpy", "django-rest", "rest-django", "req-uests"]
    while len(out) < n:
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14))))
    return out


def _tables(index: LookalikeIndex) -> tuple[object, ...]:
    return (
        index.names,
        index.rank,
        index._del1,
        index._del2,
        index._del2_max_len,
        index._folded,
        index._words,
    )


def test_extending_equals_building_at_once() -> None:
    names = _names(600, seed=5)
    whole = LookalikeIndex(names)
    whole.match("x")  # build the tables
    grown = LookalikeIndex(names[:200])
    grown.match("x")
    for start in range(200, 600, 37):
        grown.extend(names[start : start + 37])
    assert _tables(grown) == _tables(whole)
    for cand in ["reqeusts", "nunpy", "django-rset", "rest_django2", *names[::50]]:
        assert grown.match(cand) == whole.match(cand)


def test_extending_before_the_tables_are_built() -> None:
    names = _names(100, seed=9)
    grown = LookalikeIndex(names[:10])
    grown.extend(names[10:])
    whole = LookalikeIndex(names)
    assert grown.match("reqeusts") == whole.match("reqeusts")
    assert _tables(grown) == _tables(whole)


def test_the_local_index_is_extended_and_rebuilt_when_it_must_be() -> None:
    first = services._extra_index(("alpha-one", "beta-two"))
    grown = services._extra_index(("alpha-one", "beta-two", "gamma-three"))
    assert grown is first  # one new project: extended in place
    assert "gamma-three" in grown
    other = services._extra_index(("alpha-one", "gamma-three"))  # a project went away
    assert other is not first
    assert "beta-two" not in other


def test_a_list_checked_again_after_another_is_not_answered_from_the_other() -> None:
    # The same tuple is recognised at once; a list seen before another one is compared again.
    first = ("alpha-one", "beta-two")
    index = services._extra_index(first)
    assert services._extra_index(first) is index
    services._extra_index(("alpha-one", "gamma-three"))
    again = services._extra_index(first)
    assert "beta-two" in again and "gamma-three" not in again


def test_two_edits_found_up_to_two_letters_longer_than_the_longest_name() -> None:
    # The two-edit search is skipped only for names too long to be two edits away.
    index = LookalikeIndex(["cryptography"])
    m = index.match("cryptographyyy")  # two letters longer: still searched
    assert m is not None and (m.target, m.kind) == ("cryptography", "two-edits")
    assert index.match("cryptographyyyy") is None
