"""URLs of bastion.web.roles and of project deletion (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web import manage, roles

urlpatterns: list[URLPattern] = [
    path("manage/project/<str:name>/roles/invite/", roles.role_invite, name="role-invite"),
    path(
        "manage/project/<str:name>/roles/invitations/<int:invitation_id>/revoke/",
        roles.invitation_revoke,
        name="role-invitation-revoke",
    ),
    path(
        "manage/project/<str:name>/roles/<str:username>/change/",
        roles.role_change,
        name="role-change",
    ),
    path(
        "manage/project/<str:name>/roles/<str:username>/remove/",
        roles.role_remove,
        name="role-remove",
    ),
    path("account/projects/<str:name>/leave/", roles.role_leave, name="role-leave"),
    path(
        "account/invitations/<int:invitation_id>/accept/",
        roles.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "account/invitations/<int:invitation_id>/decline/",
        roles.invitation_decline,
        name="invitation-decline",
    ),
    path("manage/project/<str:name>/delete/", manage.project_delete, name="project-delete"),
    path(
        "manage/project/<str:name>/release/<str:version>/delete/",
        manage.release_delete,
        name="release-delete",
    ),
    path(
        "manage/project/<str:name>/file/<int:file_id>/delete/",
        manage.file_delete,
        name="file-delete",
    ),
]
