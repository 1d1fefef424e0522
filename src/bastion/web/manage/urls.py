"""URLs of project management: the management page, yanking and deletion (included by
bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.manage import views

urlpatterns: list[URLPattern] = [
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
    path("manage/project/<str:name>/delete/", views.project_delete, name="project-delete"),
    path(
        "manage/project/<str:name>/release/<str:version>/delete/",
        views.release_delete,
        name="release-delete",
    ),
    path(
        "manage/project/<str:name>/file/<int:file_id>/delete/",
        views.file_delete,
        name="file-delete",
    ),
]
