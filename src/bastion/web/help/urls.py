"""URL of the help page (included by bastion.web.urls); messages build it with
:mod:`bastion.helppage`, whose ``PATH`` this must equal."""

from django.urls import URLPattern, path

from bastion.web.help import views

urlpatterns: list[URLPattern] = [
    path("help/", views.help_page, name="help"),
]
