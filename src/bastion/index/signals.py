"""Re-render a project's simple pages (and the root list) whenever the project changes."""

from __future__ import annotations

import logging
from typing import Any

from bastion.index import render
from bastion.packages import deletion
from bastion.packages import services as packages
from bastion.packages.models import Project

log = logging.getLogger(__name__)


def _on_project_changed(sender: Any, project_id: int, **kwargs: Any) -> None:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return
    try:
        render.render_project(project)
        render.render_root()
    except OSError:  # the page is re-rendered on the next change or by `bastion check --repair`
        log.exception("could not render the simple pages of %s", project.normalized_name)


def _on_project_removed(sender: Any, normalized_name: str, **kwargs: Any) -> None:
    # The project's own pages were dropped by the deletion; the root list still names it.
    try:
        render.render_root()
    except OSError:
        log.exception("could not update the simple pages after removing %s", normalized_name)


packages.project_changed.connect(_on_project_changed, dispatch_uid="bastion.index.render")
deletion.project_removed.connect(_on_project_removed, dispatch_uid="bastion.index.remove")
