"""Changing bastion's settings in a test: they are one frozen value, ``settings.BASTION``."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.test import override_settings

from bastion.config import current


class settings_override(override_settings):
    """``override_settings`` for bastion's own settings, by field:
    ``@settings_override(rate_limits={"login.ip": "3/5m"})`` or ``with settings_override(...)``.

    The changed value is built when the override starts, from the settings in force then (a
    test's own storage folders stay), not when the decorator is applied.
    """

    def __init__(self, **changes: Any) -> None:
        super().__init__()
        self.changes = changes

    def enable(self) -> None:
        self.options = {"BASTION": dataclasses.replace(current(), **self.changes)}
        super().enable()
