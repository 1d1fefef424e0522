"""URLs of the tokens domain (leaked-token disclosure), included by bastion.urls."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
