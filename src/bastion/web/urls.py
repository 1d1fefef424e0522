"""URLs of the pages for people (mounted at the site root, after the index's own URLs)."""

from django.urls import include, path

from bastion.web import auth, manage, tokens, views

urlpatterns = [
    path("", views.home, name="home"),
    path("names/check/", views.check_name, name="check-name"),
    path("project/<str:name>/", views.project_detail, name="project"),
    path("project/<str:name>/<str:version>/", views.release_detail, name="release"),
    path("account/login/", auth.LoginView.as_view(), name="login"),
    path("account/logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/new/", tokens.token_create, name="token-create"),
    path("account/tokens/revoke-all/", tokens.token_revoke_all, name="token-revoke-all"),
    path("account/tokens/<uuid:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("manage/project/<str:name>/", manage.manage_project, name="manage-project"),
    path(
        "manage/project/<str:name>/release/<str:version>/yank/",
        manage.release_yank,
        name="release-yank",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/unyank/",
        manage.release_unyank,
        name="release-unyank",
    ),
    path("", include("bastion.web.urls_twofactor")),
    path("", include("bastion.web.urls_email_views")),
    path("", include("bastion.web.urls_roles")),
]
