from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import include, path, re_path
from django.views.static import serve as django_static_serve

from bastion.index import views as index
from bastion.upload import views as upload


def static_serve(request: HttpRequest, path: str, **kwargs: Any) -> HttpResponseBase:
    """Django's static view, with a name the file system refuses (too long, a NUL) not found
    rather than a server error: its existence check lets such an ``OSError`` through."""
    try:
        return django_static_serve(request, path, **kwargs)
    except (OSError, ValueError) as exc:
        raise Http404("No such file.") from exc


urlpatterns = [
    path("simple/", index.simple_index, name="simple-index"),
    re_path(r"^simple/(?P<name>[^/]+)/$", index.simple_detail, name="simple-detail"),
    re_path(r"^packages/(?P<key>.+)$", index.package_file, name="package-file"),
    re_path(r"^pypi/(?P<name>[^/]+)/json/?$", index.json_project, name="json-project"),
    re_path(
        r"^pypi/(?P<name>[^/]+)/(?P<version>[^/]+)/json/?$", index.json_release, name="json-release"
    ),
    path("legacy/", upload.upload, name="upload"),
    path("legacy", upload.legacy_without_slash),
    path("_/", include("bastion.tokens.urls")),
    path("admin/", admin.site.urls),
    re_path(
        r"^static/(?P<path>.*)$",
        static_serve,
        {"document_root": settings.STATIC_ROOT},
        name="static",
    ),
    path("", include("bastion.web.urls")),
]
