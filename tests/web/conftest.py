"""Fixtures for the web pages: users with roles and projects with published, yanked and
pending files, created through the domains' services."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from packaging.version import Version

from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release, Role
from bastion.storage import get_storage
from bastion.storage.base import file_key

QUEUE_ONLY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

README_HTML = (
    "<h1>Demo package</h1><p>Hello from the README.</p>"
    "<script>alert('readme-script')</script>"
    '<img src="https://img.example/x.png" onerror="alert(\'img-onerror\')">'
    "<a href=\"javascript:alert('js-link')\">click</a>"
)

METADATA: dict[str, Any] = {
    "summary": "A demonstration of widgets",
    "requires_python": ">=3.9",
    "license_expression": "MIT",
    "classifiers": ["Programming Language :: Python :: 3", "Topic :: Software Development"],
    "project_urls": {
        "Source": "https://git.example/demo",
        "Sneaky": "javascript:alert('url')",
    },
    "requires_dist": ["requests>=2"],
}


def add_release(
    project: Project,
    version: str,
    uploader: Any,
    *,
    state: str = File.PUBLISHED,
    description_html: str = README_HTML,
    metadata: dict[str, Any] | None = None,
    suffix: str = "py3-none-any.whl",
) -> tuple[Release, File]:
    """A release with one file in ``state``; the bytes are really stored, so that publishing
    can link them into the public tree when the transaction commits."""
    release, _ = packages.get_or_create_release(
        project,
        Version(version),
        metadata=dict(metadata if metadata is not None else METADATA),
        description_html=description_html,
        uploader=uploader,
    )
    filename = f"{project.normalized_name.replace('-', '_')}-{version}-{suffix}"
    data = f"content of {filename}".encode()
    blake = hashlib.blake2b(data, digest_size=32).hexdigest()
    key = file_key(blake, filename)
    get_storage().put_bytes(key, data)
    new = packages.NewFile(
        filename=filename,
        packagetype=File.WHEEL,
        python_version="py3",
        requires_python=">=3.9",
        size=len(data),
        md5_digest=hashlib.md5(data).hexdigest(),
        sha256_digest=hashlib.sha256(data).hexdigest(),
        blake2_256_digest=blake,
        storage_key=key,
        metadata_sha256="",
    )
    # The scan is queued with the file; here nothing runs it (the state is set below).
    with override_settings(TASKS=QUEUE_ONLY):
        file = packages.add_file(release, new, uploader=uploader)
    if state == File.PUBLISHED:
        packages.publish_file(file)
    elif state == File.HELD:
        packages.hold_file(file, reason="test")
    return release, file


@dataclass
class World:
    owner: Any
    maintainer: Any
    stranger: Any
    project: Project
    current: Release
    current_file: File
    old: Release
    pending: Release
    pending_file: File
    hidden: Project


@pytest.fixture
def world(make_user: Callable[..., Any]) -> World:
    """``demo-pkg`` (as ``Demo_Pkg``): 1.0 published, 0.9 published and yanked, 2.0 pending;
    ``hidden-pkg``: only a held file."""
    owner = make_user("olivia")
    maintainer = make_user("mallory")
    stranger = make_user("steve")
    with transaction.atomic():
        project = packages.create_project("Demo_Pkg", owner)
        packages.add_role(project, maintainer, Role.MAINTAINER, actor=owner)
        old, _ = add_release(project, "0.9", owner)
        packages.yank(old, reason="Broken on Windows, use 1.0", actor=owner)
        current, current_file = add_release(project, "1.0", owner)
        pending, pending_file = add_release(project, "2.0", owner, state=File.PENDING)
        hidden = packages.create_project("hidden-pkg", owner)
        add_release(
            hidden,
            "1.0",
            owner,
            state=File.HELD,
            metadata={"summary": "A demonstration that must stay hidden"},
        )
    return World(
        owner,
        maintainer,
        stranger,
        project,
        current,
        current_file,
        old,
        pending,
        pending_file,
        hidden,
    )
