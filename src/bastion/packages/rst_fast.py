"""A reStructuredText parser that builds docutils' parsing states only when it uses them.

Every nested construct (each list, field list, option list, line block, definition list, the
body of each explicit markup block...) makes docutils start a new nested state machine, and
``StateMachine.__init__`` instantiates all fifteen state classes, each building its whole
transition table (compiling nothing, but looking up and binding some twenty methods). A nested
machine usually visits one or two of them, so about a third of parsing a README went into
states that were never used.

:class:`Parser` is docutils' own parser with state machines whose ``states`` mapping creates a
state on first lookup. Nothing else changes: the states are docutils' classes, built and
initialised the way docutils does (a state created while its machine runs gets the
``runtime_init`` that the machine gave the others when the run started), and the transitions,
line matching, directives and transforms are docutils' own. Only the upload's verdict
(:func:`bastion.packages.readme.renders`) parses with it; docutils itself is not modified, so
``readme_renderer``'s full render (which stores the HTML) parses exactly as before.

It is written against docutils 0.23.1 (``statemachine.StateMachine`` / ``StateWS`` and
``parsers.rst.states.RSTState`` / ``NestedStateMachine`` / ``Parser.parse`` as they are there),
the release ``pyproject.toml`` pins exactly. :data:`AVAILABLE` is false for any other docutils,
or when what this relies on has moved, and the caller then uses docutils' standard parser, so an
upgrade cannot silently change a verdict; ``tests/packages/test_readme_parser.py`` then fails,
so that an upgrade of the pin is checked with the parity tests before it ships.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import docutils
from docutils import nodes, statemachine
from docutils.parsers import rst
from docutils.parsers.rst import roles
from docutils.parsers.rst import states as rst_states

#: The docutils release whose state machines were read to write this module, and pinned.
CHECKED_DOCUTILS = "0.23.1"


def _relied_on() -> bool:
    """Whether docutils is the release this was written against, with the attributes used."""
    if docutils.__version__ != CHECKED_DOCUTILS:
        return False
    machine = statemachine.StateMachine
    state = rst_states.RSTState
    return (
        all(
            callable(getattr(machine, name, None))
            for name in ("add_states", "add_state", "runtime_init", "unlink", "get_state")
        )
        and state.nested_sm is rst_states.NestedStateMachine
        and isinstance(state.nested_sm_cache, list)
        and all(hasattr(statemachine.StateWS, name) for name in ("indent_sm", "known_indent_sm"))
        and issubclass(rst_states.NestedStateMachine, rst_states.RSTStateMachine)
        and callable(getattr(rst.Parser, "setup_parse", None))
        and callable(getattr(rst.Parser, "finish_parse", None))
        and hasattr(roles, "_roles")
    )


AVAILABLE: bool = _relied_on()

# Nested machines kept for reuse by ``RSTState.nested_parse``, as docutils keeps its own in the
# class attribute ``RSTState.nested_sm_cache``: a separate list, so that docutils' standard
# parses never pick up one of these machines and this parser never picks up one of theirs.
_NESTED_SM_CACHE: list[statemachine.StateMachine] = []


@functools.cache
def _classes_by_name(state_classes: tuple[type[statemachine.State], ...]) -> dict[str, type]:
    """``{class name: class}``, refusing duplicate names as ``StateMachine.add_state`` does."""
    by_name: dict[str, type] = {}
    for state_class in state_classes:
        name = state_class.__name__
        if name in by_name:
            raise statemachine.DuplicateStateError(name)
        by_name[name] = state_class
    return by_name


class _LazyStates(dict[str, statemachine.State]):
    """A machine's ``states``: a missing name whose class the machine was given is created.

    Iterating (``values()``, as ``runtime_init`` and ``unlink`` do) sees only the states
    created so far, which is all that needs initialising or unlinking.
    """

    __slots__ = ("classes", "machine")

    def __init__(self, machine: _LazyMachine, classes: dict[str, type]) -> None:
        super().__init__()
        self.machine = machine
        self.classes = classes

    def __missing__(self, name: str) -> statemachine.State:
        state_class = self.classes[name]  # KeyError: get_state reports UnknownStateError
        state = self.machine.create_state(state_class)
        self[name] = state
        return state


class _LazyMachine(statemachine.StateMachineWS):
    """Mixin for docutils' rST state machines: states are made when first looked up."""

    states: Any
    debug: bool
    # Set by the first ``runtime_init``: from then on, docutils' machine would have
    # initialised every state at the start of a run, so a state created later is initialised
    # when it is created.
    _initialised = False

    def add_states(self, state_classes: Iterable[type[statemachine.State]]) -> None:
        """Record the classes; each state is created on its first lookup."""
        classes = _classes_by_name(tuple(state_classes))
        self.states = _LazyStates(self, dict(classes))

    def add_state(self, state_class: type[statemachine.State]) -> None:
        """Record one more class, refusing a duplicate name like docutils."""
        name = state_class.__name__
        if name in self.states.classes:
            raise statemachine.DuplicateStateError(name)
        self.states.classes[name] = state_class

    def runtime_init(self) -> None:
        """docutils' ``runtime_init`` over the states made so far; later ones get it when made."""
        super().runtime_init()
        self._initialised = True

    def create_state(self, state_class: type[statemachine.State]) -> statemachine.State:
        """The state docutils would have built in ``add_state``, nesting with these machines.

        ``RSTState`` names docutils' ``NestedStateMachine`` in the class attribute
        ``nested_sm`` (and ``StateWS.__init__`` copies it into ``indent_sm`` and
        ``known_indent_sm``): an instance attribute points this state's nested parses at the
        lazy machine instead, and at this module's cache of reusable machines.
        """
        state = state_class(self, self.debug)
        for attribute in ("nested_sm", "indent_sm", "known_indent_sm"):
            if getattr(state, attribute, None) is rst_states.NestedStateMachine:
                setattr(state, attribute, NestedStateMachine)
        if isinstance(state, rst_states.RSTState):
            state.nested_sm_cache = _NESTED_SM_CACHE
        if self._initialised:
            state.runtime_init()
        return state


class RSTStateMachine(_LazyMachine, rst_states.RSTStateMachine):
    """docutils' top-level rST state machine, with states made on first use."""


class NestedStateMachine(_LazyMachine, rst_states.NestedStateMachine):
    """docutils' nested rST state machine, with states made on first use."""


class Parser(rst.Parser):
    """docutils' reStructuredText parser running the lazy state machines.

    ``parse`` does what ``docutils.parsers.rst.Parser.parse`` (0.23.1) does, naming this
    module's top-level machine instead of docutils'. Make one per document: like docutils'
    parser, it keeps the document and state machine of the parse it runs.
    """

    def parse(self, inputstring: str, document: nodes.document) -> None:
        """Parse ``inputstring`` into ``document``, as docutils' parser does."""
        self.setup_parse(inputstring, document)
        document.settings.setdefault("tab_width", 8)
        document.settings.setdefault("syntax_highlight", "long")
        self.statemachine = RSTStateMachine(
            state_classes=self.state_classes,
            initial_state=self.initial_state,
            debug=document.reporter.debug_flag,
        )
        lines: Sequence[str] = statemachine.string2lines(
            inputstring, tab_width=document.settings.tab_width, convert_whitespace=True
        )
        for number, line in enumerate(lines, start=1):
            if len(line) > document.settings.line_length_limit:
                document.append(
                    document.reporter.error(f"Line {number} exceeds the line-length-limit.")
                )
                break
        else:
            self.statemachine.run(lines, document, inliner=self.inliner)
        # docutils restores the "default" default role after parsing a document
        if "" in roles._roles:
            del roles._roles[""]
        self.finish_parse()
