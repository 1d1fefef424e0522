"""``POST /legacy/``: the upload API used by twine and ``uv publish``.

The view is the pipeline's HTTP edge: it applies the upload rate limits, authenticates from
the header before the body is read, reads the form, and hands typed values (the form, the
identity, the received file, the client) to :func:`bastion.upload.services.handle_upload`.
"""

from __future__ import annotations

import re

from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from bastion import clientinfo, ratelimit
from bastion.authz import Identity
from bastion.clientinfo import ClientInfo
from bastion.config import current
from bastion.packages.models import Project
from bastion.ratelimit import RateLimited
from bastion.ratelimit.answer import too_many_requests
from bastion.upload.receive import FormError, ReceivedFile, ReceivedForm, is_multipart, read_form
from bastion.upload.services import (
    UploadError,
    UploadForm,
    authenticate,
    check_field_limits,
    handle_upload,
)

#: The longest reason a refusal carries. Messages quote what the client sent (names,
#: versions, filenames); the form's limits bound those, and this bounds the line whatever a
#: message quotes.
MAX_REASON = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def error_response(status: int, message: str) -> HttpResponse:
    """A 4xx whose one-line reason is both the body and the status line's reason phrase.

    twine prints the reason phrase, so PyPI puts its message there. HTTP allows only
    ISO-8859-1 without control characters in it: a message that quotes a client's value can
    hold anything, so control characters become spaces, other characters a ``?``, and the
    line is cut to :data:`MAX_REASON` characters.
    """
    line = " ".join(_CONTROL.sub(" ", message).split())
    if len(line) > MAX_REASON:
        line = line[: MAX_REASON - 3] + "..."
    reason = line.encode("latin-1", "replace").decode("latin-1")
    return HttpResponse(
        line + "\n", status=status, reason=reason, content_type="text/plain; charset=utf-8"
    )


def _request_too_large(request: HttpRequest) -> bool:
    """Refuse a body larger than any file could be before Django spools it to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    slack = 16 * 1024 * 1024  # the form fields around the file
    if length <= current().max_file_size + slack:
        return False  # within every project's limit: no need to ask the database
    largest = Project.objects.aggregate(m=Max("upload_limit"))["m"] or 0
    return length > max(current().max_file_size, int(largest)) + slack


@csrf_exempt
@require_http_methods(["POST"])
def upload(request: HttpRequest) -> HttpResponse:
    client = clientinfo.of(request)
    try:
        ratelimit.check(client, "upload")  # before the body is read
    except RateLimited as exc:
        return too_many_requests(exc)
    if _request_too_large(request):
        return error_response(
            413, f"File too large. Limit is {current().max_file_size // (1024 * 1024)} MB."
        )
    # Who is uploading is known from the header alone: a request without a valid token is
    # refused before its body (up to the file size limit) is read, hashed and spooled.
    try:
        identity = authenticate(request.META.get("HTTP_AUTHORIZATION", ""))
    except UploadError as exc:
        return error_response(exc.status, exc.message)
    received: ReceivedForm | None = None
    if is_multipart(request.META.get("CONTENT_TYPE", "")):
        try:
            received = read_form(
                request.read,
                request.META.get("CONTENT_TYPE", ""),
                int(request.META.get("CONTENT_LENGTH") or -1),
            )
        except FormError as exc:
            return error_response(400, str(exc))
        form = received.fields
        files = received.files
    else:  # not what twine or uv send; Django reads it, and there is no file in it
        form = {key: request.POST.getlist(key) for key in request.POST}
        files = []
    try:
        return _upload(form, files, identity, client)
    finally:
        if received is not None:
            received.close()


def _upload(
    form: dict[str, list[str]],
    files: list[tuple[str, ReceivedFile]],
    identity: Identity,
    client: ClientInfo,
) -> HttpResponse:
    try:
        check_field_limits(form)  # before anything reads a value
    except UploadError as exc:
        return error_response(exc.status, exc.message)
    action = (form.get(":action") or [""])[0]
    if not action:
        # PyPI routes /legacy/ on the action; a POST without one reaches its upload page,
        # which answers any POST so.
        response = error_response(405, "The method POST is not allowed for this resource.")
        response["Allow"] = "POST"
        return response
    if action in ("submit", "submit_pkg_info"):
        return error_response(
            410,
            "Project pre-registration is no longer required or supported, upload your files instead.",
        )
    if action == "doc_upload":
        return error_response(
            410,
            "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/.",
        )
    if action != "file_upload":
        return error_response(400, f"Unknown action '{action}'.")
    try:
        # The address's window was checked before the body was read.
        ratelimit.check(client, "upload", user=identity.user, ip=False)
        ratelimit.hit(client, "upload", user=identity.user)
        result = handle_upload(
            UploadForm(form, tuple(name for name, _f in files)),
            identity,
            next((f for name, f in files if name == "content"), None),
            client,
        )
    except UploadError as exc:
        return error_response(exc.status, exc.message)
    except RateLimited as exc:
        return too_many_requests(exc)
    # PyPI's success body is its warnings, one a line; bastion's says when the file waits for
    # its scan (twine --verbose and uv -vv print it).
    if result.notice:
        return HttpResponse(
            result.notice + "\n", status=200, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(b"", status=200, content_type="text/plain")


@csrf_exempt
def legacy_without_slash(request: HttpRequest) -> HttpResponse:
    response = error_response(
        308,
        "An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)",
    )
    response["Location"] = "/legacy/"
    return response
