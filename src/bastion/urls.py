from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve as static_serve

from bastion.index import views as index
from bastion.upload import views as upload

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
    re_path(r"^static/(?P<path>.*)$", static_serve, {"document_root": settings.STATIC_ROOT}),
    path("", include("bastion.web.urls")),
]
