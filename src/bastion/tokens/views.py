"""``POST /_/secrets/disclose-token``: where a secret scanner reports leaked tokens."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bastion import ratelimit
from bastion.config import current
from bastion.ratelimit.answer import too_many_requests
from bastion.tokens import disclosure


def _refuse(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt  # a machine-to-machine endpoint: the ECDSA signature is what authenticates it
@never_cache
@require_POST
def disclose_token(request: HttpRequest) -> HttpResponse:
    keys_file = current().disclosure_keys_file
    if not keys_file:
        # Not configured: the endpoint does not exist, so nobody can probe it.
        return _refuse(404, "Not Found")
    try:
        ratelimit.check(request, "disclose")
    except ratelimit.RateLimited as exc:
        return too_many_requests(exc)
    ratelimit.hit(request, "disclose")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Invalid Content-Length.")
    if length > disclosure.MAX_BODY_BYTES:
        # Refused before the body is read.
        return _refuse(413, f"The report is too large: at most {disclosure.MAX_BODY_BYTES} bytes.")
    try:
        answer = disclosure.disclose(
            request.body,
            request.headers.get(disclosure.KEY_ID_HEADER, ""),
            request.headers.get(disclosure.SIGNATURE_HEADER, ""),
            keys_file,
            request=request,
        )
    except disclosure.DisclosureError as exc:
        return _refuse(exc.status, exc.message)
    return JsonResponse(answer, safe=False)
