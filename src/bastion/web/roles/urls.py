"""URLs of the collaborators of a project and of invitations (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.roles import views

urlpatterns: list[URLPattern] = [
    path("manage/project/<str:name>/roles/invite/", views.role_invite, name="role-invite"),
    path(
        "manage/project/<str:name>/roles/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="role-invitation-revoke",
    ),
    path(
        "manage/project/<str:name>/roles/<str:username>/change/",
        views.role_change,
        name="role-change",
    ),
    path(
        "manage/project/<str:name>/roles/<str:username>/remove/",
        views.role_remove,
        name="role-remove",
    ),
    path("account/projects/<str:name>/leave/", views.role_leave, name="role-leave"),
    path(
        "account/invitations/<int:invitation_id>/accept/",
        views.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "account/invitations/<int:invitation_id>/decline/",
        views.invitation_decline,
        name="invitation-decline",
    ),
]
