"""URLs of the public pages (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.pages import views

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("names/check/", views.check_name, name="check-name"),
    path("project/<str:name>/", views.project_detail, name="project"),
    path("project/<str:name>/<str:version>/", views.release_detail, name="release"),
]
