"""Hostile values: text, names, versions, requirements, URLs, README bodies.

Every function takes the caller's :class:`random.Random`, so a request is a pure function of
its seed.
"""

from __future__ import annotations

import random

# Characters that break parsers, renderers, databases and terminals.
CONTROL = [chr(c) for c in [*range(0, 32), 127, *range(0x80, 0xA0)]]
WEIRD = [
    "\x00",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x0b",
    "\x0c",
    "\x1b[31m",
    "\u00a0",  # no-break space
    "\u00ad",  # soft hyphen
    "\u0301",  # combining acute
    "\u200b",  # zero width space
    "\u200d",  # zero width joiner
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u2044",  # fraction slash
    "\u2215",  # division slash
    "\u3000",  # ideographic space
    "\ufeff",  # byte order mark
    "\ufffd",  # replacement character
    "\uffff",  # noncharacter
    "\U0001f600",  # emoji (astral plane)
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # ZWJ sequence
    "\U000e0001",  # language tag
    "\U0010fffd",  # last private use
    "\ufe0f",
    "\u01c5",  # titlecase digraph
    "\u00df",
    "\u0130",  # changes length when lowercased
    "\ufb01",  # ligature, NFKC -> fi
    "\u2168",  # roman numeral, NFKC -> IX
    "\uff11",  # fullwidth digit
    "\u0663",  # Arabic-Indic digit: int() accepts it
    "\uff21",
    "\uff53",
    "\U0001d552",
    "\u0430",  # Cyrillic a
    "\u03bf",  # Greek omicron
    "\u4e2d\u6587",
    "\u05e2\u05d1\u05e8\u05d9\u05ea",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
]
SYNTAX = [
    "..",
    ".",
    "/",
    "\\",
    "../" * 8 + "etc/passwd",
    "%00",
    "%ff",
    "%2e%2e%2f",
    "%%",
    "%s%s%s%n",
    "{0}",
    "{}",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "'; DROP TABLE packages_project; --",
    "' OR '1'='1",
    "`id`",
    "$(id)",
    "javascript:alert(1)",
    "data:text/html,<b>x</b>",
    "file:///etc/passwd",
    "http://[::1",
    "http://",
    "https://example.com/" + "a" * 300,
    "mailto:",
    "@",
    "a@b",
    "<a@b>",
    "Name <a@b>, Other <c@d>",
    '"quoted, name" <a@example.com>',
    ",",
    ";",
    "=",
    "==",
    "~=",
    "===",
    "!",
    "#",
    "*",
    "[]",
    "()",
    "(" * 200,
    "[" * 200,
    "1e309",
    "-0",
    "nan",
    "inf",
    "9" * 400,
    "0x10",
    "None",
    "null",
    "true",
    "UNKNOWN",
    "",
    " ",
    "\t \n",
]
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def word(rng: random.Random, lo: int = 1, hi: int = 12) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(lo, hi)))


def any_char(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(ALNUM)
    if r < 0.45:
        return rng.choice(CONTROL)
    if r < 0.7:
        return rng.choice(WEIRD)
    if r < 0.85:
        return chr(rng.randint(0x20, 0x2FF))
    # Anything but a lone surrogate, which no UTF-8 encoder writes.
    c = rng.randint(0x300, 0x10FFFF)
    return chr(c) if not 0xD800 <= c <= 0xDFFF else "\ufffd"


def junk(rng: random.Random, hi: int = 40) -> str:
    """A short random string of any characters."""
    return "".join(any_char(rng) for _ in range(rng.randint(0, hi)))


def huge(rng: random.Random, max_len: int = 100_000) -> str:
    """A long value: a random piece repeated up to ``max_len`` characters."""
    piece = junk(rng, 60) or "a"
    length = rng.choice([256, 1025, 4097, 65_536, 100_000, rng.randint(1, max_len)])
    return (piece * (length // len(piece) + 1))[: min(length, max_len)]


def hostile(rng: random.Random) -> str:
    """Any hostile text value."""
    r = rng.random()
    if r < 0.25:
        return rng.choice(SYNTAX)
    if r < 0.45:
        return junk(rng)
    if r < 0.55:
        return huge(rng)
    if r < 0.7:
        return word(rng) + rng.choice(WEIRD) + word(rng)
    if r < 0.8:
        return rng.choice(SYNTAX) + junk(rng, 5) + rng.choice(SYNTAX)
    if r < 0.9:
        return "".join(rng.choice(WEIRD) for _ in range(rng.randint(1, 20)))
    return word(rng, 1, 40)


def mutate_text(rng: random.Random, value: str) -> str:
    """Change a valid value a little: insert, delete, swap case, pad, double, cut."""
    r = rng.random()
    if not value or r < 0.2:
        return hostile(rng)
    i = rng.randint(0, len(value))
    if r < 0.4:
        return value[:i] + any_char(rng) + value[i:]
    if r < 0.5:
        return value[:i] + value[i + 1 :]
    if r < 0.6:
        return value.swapcase()
    if r < 0.7:
        return rng.choice([" ", "\t", "\n", "\u00a0", "\x00"]) + value + rng.choice(["", " ", "\n"])
    if r < 0.8:
        return value * rng.randint(2, 50)
    if r < 0.9:
        return value[:i]
    return value + rng.choice(SYNTAX)


def project_name(rng: random.Random) -> str:
    """A valid, new-looking project name."""
    return "fz-" + "-".join(word(rng, 3, 8).lower() for _ in range(rng.randint(1, 3)))


def name_variant(rng: random.Random, name: str) -> str:
    """A spelling of ``name`` that normalises to it, or nearly."""
    r = rng.random()
    if r < 0.2:
        return name.upper()
    if r < 0.4:
        return name.replace("-", rng.choice(["_", ".", "--", "-_.", "__"]))
    if r < 0.5:
        return name.title()
    if r < 0.6:
        return name + rng.choice([".", "-", "_", "..", " "])
    if r < 0.7:
        return rng.choice(["-", "_", ".", " "]) + name
    if r < 0.8:
        return name.replace("i", "\u0130").replace("s", "\u017f").replace("k", "K")  # Kelvin sign
    return mutate_text(rng, name)


def version(rng: random.Random) -> str:
    return rng.choice(
        [
            "1.0",
            "0",
            "1!2.3",
            "1.0.post1.dev2+local.7",
            "1.0a1",
            "1.0rc1",
            "1.0-1",
            "v1.0",
            "1.0.0.0.0.0.0",
            "1." + ".".join(["0"] * rng.randint(10, 400)),
            "9" * rng.randint(19, 2000),
            "1.0+" + "a" * rng.randint(1, 300),
            "1.0+" + "." * 3,
            "1.0 ",
            " 1.0",
            "1.0\n",
            "\u0661.\u0660",
            "1.0-dev",
            "1.0_post",
            "latest",
            "",
            "1..0",
            "1.0.",
            ".1",
            "1.0+\u00fc",
            "1.0.dev-1",
            "1.0.post-1",
            "0!0",
            "99999999999999999999!1",
        ]
    )


def requirement(rng: random.Random) -> str:
    return rng.choice(
        [
            "requests>=2",
            "requests[socks]>=2; python_version<'3.8'",
            "foo @ https://example.com/foo-1.0.tar.gz",
            "foo @ file:///etc/passwd",
            "foo (>=1.0)",
            "foo>=1,<2,!=1.5.*",
            "foo; os_name == 'nt' and extra == 'x'",
            "foo; extra == '\u00fc'",
            "foo; " + " and ".join(["python_version > '3'"] * rng.randint(2, 300)),
            "foo; " + "(" * 300 + "python_version>'3'" + ")" * 300,
            "foo[" + ",".join(word(rng) for _ in range(rng.randint(1, 200))) + "]",
            "foo===" + junk(rng),
            "foo~=1",
            "foo>=1.0.*",
            "-e git+https://x",
            "./local/path",
            ";;;",
            "foo; python_version ~= 'abc'",
            "foo; platform_release >= '5.10.0-1-amd64'",
            "foo; implementation_version in '3.11'",
            hostile(rng),
        ]
    )


def classifier(rng: random.Random) -> str:
    return rng.choice(
        [
            "Programming Language :: Python :: 3",
            "Private :: Do Not Upload",
            "License :: OSI Approved :: MIT License",
            "Development Status :: 9 - Impossible",
            "Topic :: ",
            "Framework :: Django :: 99",
            " :: ",
            hostile(rng),
        ]
    )


def project_url(rng: random.Random) -> str:
    return rng.choice(
        [
            "Homepage, https://example.com",
            "Source, https://git.example/x",
            "Evil, javascript:alert(1)",
            "NoComma https://example.com",
            ", https://example.com",
            "Label,",
            "Label, " + "h" * 3000,
            "Label, http://[::1",
            "Label, https://exa mple.com",
            "Label, https://" + "a." * 200 + "com",
            junk(rng) + ", " + junk(rng),
            hostile(rng),
        ]
    )


def content_type(rng: random.Random) -> str:
    return rng.choice(
        [
            "text/x-rst",
            "text/markdown",
            "text/markdown; variant=GFM",
            "text/markdown; variant=CommonMark",
            "text/markdown; variant=bogus",
            "text/markdown; charset=UTF-8",
            "text/markdown; charset=utf-16",
            "text/markdown; charset=ebcdic",
            "text/plain",
            "text/html",
            "application/json",
            "text/x-rst; charset=" + junk(rng, 8),
            "text/markdown;;;variant==",
            "text/markdown; variant=" + "x" * 200,
            "TEXT/MARKDOWN",
            "/",
            "",
            hostile(rng),
        ]
    )


def readme(rng: random.Random) -> str:
    """A description, mostly reStructuredText or Markdown built to stress renderers."""
    pieces = [
        "Title\n=====\n\nText.\n",
        "Bad title\n==\n",
        ".. raw:: html\n\n   <script>alert(1)</script>\n",
        ".. include:: /etc/passwd\n",
        ".. csv-table::\n   :file: /etc/passwd\n",
        ".. csv-table::\n   :url: http://127.0.0.1/\n",
        ".. image:: javascript:alert(1)\n",
        ".. math::\n\n   \\frac{1}{" + "{" * 50 + "\n",
        ".. code-block:: python\n\n   print(1)\n",
        ".. code-block:: nonexistentlang\n\n   x\n",
        ".. unknown-directive:: x\n",
        ".. |sub| replace:: |sub|\n\n|sub|\n",
        ".. [#] footnote\n\n[#]_ [#]_ [#]_\n",
        "`link <javascript:alert(1)>`_\n",
        ":unknown-role:`x`\n",
        "* " * rng.randint(1, 300) + "deep\n",
        "> " * rng.randint(1, 300) + "deep\n",
        "\n".join("    " * i + "- x" for i in range(rng.randint(1, 120))) + "\n",
        "+---+---+\n| a | b |\n+---+---+\n| c |\n+---+\n",
        "+" + "-+" * 500 + "\n",
        "|" + "x|" * 500 + "\n",
        "# Markdown\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n",
        "```\n" + "code\n" * 20,
        "<details><summary>x</summary>" * 50 + "\n",
        "[" * 500 + "x" + "]" * 500 + "(y)\n",
        "*" * 2000 + "\n",
        "_" * 2000 + "\n",
        "`" * 2000 + "\n",
        "\\" * 2000 + "\n",
        "&#" + "9" * 30 + ";\n",
        "&#x110000; &#0; &#xD800;\n",
        "1. x\n" * 200,
        "Term\n   Def\n" * 100,
        "Section\n" + "=" * 7 + "\n\n" + "Sub\n---\n\nSub2\n~~~~\n" * 50,
        hostile(rng),
    ]
    return "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
