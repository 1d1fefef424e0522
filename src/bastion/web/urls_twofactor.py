"""URLs of bastion.web.twofactor (included by bastion.web.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
