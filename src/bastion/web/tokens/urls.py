"""URLs of the API token pages (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.tokens import views

urlpatterns: list[URLPattern] = [
    path("account/tokens/new/", views.token_create, name="token-create"),
    path("account/tokens/revoke-all/", views.token_revoke_all, name="token-revoke-all"),
    path("account/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
