"""Authentication backend: Django's, refusing frozen accounts wherever a password is checked
(the login page and the admin alike)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class BastionBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_frozen", False)
