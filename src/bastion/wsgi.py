"""The WSGI application: the index's responder in front of Django."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")

django_application = get_wsgi_application()

from bastion.config import current  # noqa: E402
from bastion.index.responder import make_application  # noqa: E402
from bastion.warmup import warm_up  # noqa: E402

warm_up()
application = make_application(current().public_dir, django_application)
