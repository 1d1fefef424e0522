"""URLs of bastion.web.email_views (included by bastion.web.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
