"""URLs of the pages for people (mounted at the site root, after the index's own URLs): each
area of bastion.web brings its own."""

from django.urls import include, path

urlpatterns = [
    path("", include("bastion.web.pages.urls")),
    path("", include("bastion.web.account.urls")),
    path("", include("bastion.web.tokens.urls")),
    path("", include("bastion.web.manage.urls")),
    path("", include("bastion.web.twofactor.urls")),
    path("", include("bastion.web.roles.urls")),
    path("", include("bastion.web.help.urls")),
]
