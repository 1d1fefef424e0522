"""Collaborators of a project: invitations, roles, leaving."""
