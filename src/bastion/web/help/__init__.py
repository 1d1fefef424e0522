"""The help page that refusals link to (``/help/#...``), rendered from ``docs/help.md``."""
