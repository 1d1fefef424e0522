"""URLs of the pages for people (mounted at the site root, after the index's own URLs)."""

from django.urls import path

from bastion.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("names/check/", views.check_name, name="check-name"),
    path("project/<str:name>/", views.project_detail, name="project"),
    path("project/<str:name>/<str:version>/", views.release_detail, name="release"),
    path("account/login/", views.LoginView.as_view(), name="login"),
    path("account/logout/", views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/new/", views.token_create, name="token-create"),
    path("account/tokens/revoke-all/", views.token_revoke_all, name="token-revoke-all"),
    path("account/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("manage/project/<str:name>/", views.manage_project, name="manage-project"),
    path(
        "manage/project/<str:name>/release/<str:version>/yank/",
        views.release_yank,
        name="release-yank",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/unyank/",
        views.release_unyank,
        name="release-unyank",
    ),
]
