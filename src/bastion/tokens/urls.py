"""URLs of the tokens domain (leaked-token disclosure), included by bastion.urls under ``/_/``."""

from django.urls import URLPattern, path

from bastion.tokens import views

urlpatterns: list[URLPattern] = [
    path("secrets/disclose-token", views.disclose_token, name="disclose-token"),
    # The address PyPI first published to GitHub; scanners configured for it keep working.
    path("github/disclose-token", views.disclose_token, name="disclose-token-github"),
]
