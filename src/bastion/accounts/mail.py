"""The default email backend of the embedded mode: Django's console backend on stderr.

Django's console backend writes to stdout, where command-line output belongs:
``TOKEN=$(bastion token create alice)`` would capture the security notice with the token.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend


class StderrEmailBackend(ConsoleEmailBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)
