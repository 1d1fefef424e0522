"""URLs of bastion.web.roles (included by bastion.web.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
