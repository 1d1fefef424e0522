"""Django settings for bastion, derived from ``bastion.config`` (environment variables).

The environment is read once, here, into ``BASTION`` (a ``bastion.config.BastionSettings``);
bastion's own code reads it through ``bastion.config.current()``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from bastion import config

BASE_DIR = Path(__file__).resolve().parent
BASTION = config.from_environ(os.environ)
# Reading the settings creates nothing: a command run from the wrong folder must not leave a
# new, empty index behind. ``bastion serve`` and ``bastion migrate`` make the data folder and
# its key (bastion.config.make_data_dir); the other commands first check that they are there.
_data_dir = BASTION.data_dir

SECRET_KEY = BASTION.secret_key or config.stored_secret_key(_data_dir)
DEBUG = BASTION.debug
# Host names this index answers to. Not "*" by default: emailed links (password reset, email
# verification) are built on BASTION_BASE_URL when set, else on the request's Host, which must
# then be one the operator listed. Loopback names always work for the embedded mode.
ALLOWED_HOSTS = list(BASTION.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(BASTION.csrf_trusted_origins)

INSTALLED_APPS = [
    "bastion.adminsite.BastionAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "bastion.events",
    "bastion.names",
    "bastion.accounts",
    "bastion.packages",
    "bastion.tokens",
    "bastion.upload",
    "bastion.index",
    "bastion.web",
]

MIDDLEWARE = [
    "bastion.web.middleware.ClientInfoMiddleware",
    "bastion.web.middleware.SecurityHeadersMiddleware",
    "bastion.web.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bastion.web.middleware.RateLimitMiddleware",
]

ROOT_URLCONF = "bastion.urls"
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "bastion.wsgi.application"

DATABASES = {"default": dj_database_url.parse(BASTION.database_url, conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open across requests like PostgreSQL's: a new SQLite connection re-reads the schema
    # on its first query, about a millisecond per request.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers proceed while a writer commits; IMMEDIATE avoids the
            # upgrade deadlock of deferred transactions under concurrent writers.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["bastion.accounts.backends.BastionBackend"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Refuses passwords found in BASTION_BREACHED_PASSWORDS_FILE (docs/accounts.md).
    {"NAME": "bastion.accounts.passwords.BreachedPasswordValidator"},
]
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/account/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = _data_dir / "static"

# Security headers and cookies. HSTS and secure cookies apply when served over TLS
# (BASTION_TLS=1 or a proxy that sets X-Forwarded-Proto, see docs/configuration.md).
TLS = BASTION.tls
if BASTION.behind_proxy:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = TLS
CSRF_COOKIE_SECURE = TLS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_HSTS_SECONDS = 31536000 if TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = TLS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Uploads: bastion streams the file part to a temporary file; the other fields are small.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

TASKS = {
    "default": {
        "BACKEND": BASTION.task_backend,
    }
}

EMAIL_BACKEND = BASTION.email_backend
DEFAULT_FROM_EMAIL = BASTION.from_email
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMTP (with BASTION_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = BASTION.email_host
EMAIL_PORT = BASTION.email_port
EMAIL_HOST_USER = BASTION.email_user
EMAIL_HOST_PASSWORD = BASTION.email_password
EMAIL_USE_TLS = BASTION.email_starttls
EMAIL_USE_SSL = BASTION.email_ssl
EMAIL_TIMEOUT = BASTION.email_timeout
RATELIMIT_USE_CACHE = "default"

CACHES = {
    "default": {
        "BACKEND": BASTION.cache_backend,
        "LOCATION": BASTION.cache_location,
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": BASTION.log_level},
}
