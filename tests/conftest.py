"""Shared fixtures (the environment itself is set up by tests/settings.py)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bastion.config import BastionSettings
from tests.builders import Dist

PASSWORD = "correct horse battery staple"


@pytest.fixture
def bastion_settings(settings: Any) -> Callable[..., BastionSettings]:
    """Change bastion's settings for one test, by field: ``bastion_settings(max_file_size=10)``
    (undone after the test, as pytest-django's ``settings`` fixture does)."""

    def change(**changes: Any) -> BastionSettings:
        settings.BASTION = dataclasses.replace(settings.BASTION, **changes)
        return settings.BASTION  # type: ignore[no-any-return]

    return change


@pytest.fixture(autouse=True)
def _private_storage(bastion_settings: Callable[..., BastionSettings], tmp_path: Any) -> None:
    """Each test gets empty storage and public trees (``<data_dir>/public``)."""
    bastion_settings(data_dir=tmp_path, storage_dir=tmp_path / "files")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Every test starts with empty rate-limit counters: the cache is per process and an
    xdist worker runs many tests (failed logins of one test must not lock out the next)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from bastion.accounts.services import create_user

    def make(
        name: str = "alice",
        *,
        admin: bool = False,
        email: str | None = None,
        two_factor: bool = True,
        email_verified: bool = True,
    ) -> Any:
        """A user; by default with TOTP enrolled (``user.totp_seed`` holds the secret) and a
        verified email, as uploading and managing require."""
        from bastion.accounts import mfa

        user = create_user(
            name,
            email=email or f"{name}@example.com",
            password=PASSWORD,
            is_admin=admin,
            email_verified=email_verified,
        )
        user.totp_seed = None
        if two_factor:
            user.totp_seed = mfa.new_totp_secret()
            mfa.enrol_totp_unverified(user, user.totp_seed)
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def make_token() -> Callable[..., str]:
    from bastion.tokens.services import create_token

    counter = iter(range(10_000))

    def make(owner: Any, **kwargs: Any) -> str:
        raw, _ = create_token(owner, f"t{next(counter)}", **kwargs)
        return raw

    return make


@pytest.fixture
def token(user: Any, make_token: Callable[..., str]) -> str:
    return make_token(user)


def basic(token: str, username: str = "__token__") -> str:
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


@pytest.fixture
def upload(client: Client) -> Callable[..., Any]:
    """POST a distribution to /legacy/ the way twine does."""

    def post(
        dist: Dist,
        token: str | None,
        *,
        fields: list[tuple[str, str]] | None = None,
        filename: str | None = None,
        data: bytes | None = None,
        content_type: str = "application/octet-stream",
        auth: str | None = None,
    ) -> Any:
        payload: dict[str, Any] = {}
        for key, value in fields if fields is not None else dist.fields:
            payload.setdefault(key, []).append(value)
        payload["content"] = SimpleUploadedFile(
            filename or dist.filename,
            dist.data if data is None else data,
            content_type=content_type,
        )
        extra = {}
        if auth is not None:
            extra["HTTP_AUTHORIZATION"] = auth
        elif token is not None:
            extra["HTTP_AUTHORIZATION"] = basic(token)
        return client.post("/legacy/", payload, **extra)

    return post
