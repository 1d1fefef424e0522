"""Django settings for bastion, all driven by ``bastion.config`` (environment variables)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from bastion import config
from bastion.ratelimit import parse_rates

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = config.secret_key(DATA_DIR)
DEBUG = config.env_bool("BASTION_DEBUG", False)
# Host names this index answers to. Not "*" by default: emailed links (password reset, email
# verification) are built on BASTION_BASE_URL when set, else on the request's Host, which must
# then be one the operator listed. Loopback names always work for the embedded mode.
_base_host = urlsplit(config.env("BASTION_BASE_URL", "") or "").hostname
ALLOWED_HOSTS = [
    h.strip()
    for h in (
        config.env("BASTION_ALLOWED_HOSTS", "")
        or ",".join(filter(None, ["localhost", "127.0.0.1", "[::1]", _base_host]))
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o for o in (config.env("BASTION_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o
]

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

_default_db = f"sqlite:///{DATA_DIR / 'bastion.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        config.env("BASTION_DATABASE_URL", _default_db) or _default_db, conn_max_age=600
    )
}
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
STATIC_ROOT = DATA_DIR / "static"

# Security headers and cookies. HSTS and secure cookies apply when served over TLS
# (BASTION_TLS=1 or a proxy that sets X-Forwarded-Proto, see docs/configuration.md).
TLS = config.env_bool("BASTION_TLS", False)
if config.env_bool("BASTION_BEHIND_PROXY", False):
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

BASTION_MAX_FILE_SIZE = config.env_int("BASTION_MAX_FILE_SIZE", 100 * 1024 * 1024)
BASTION_MAX_PROJECT_SIZE = config.env_int("BASTION_MAX_PROJECT_SIZE", 10 * 1024 * 1024 * 1024)
BASTION_STORAGE_DIR = Path(
    config.env("BASTION_STORAGE_DIR", str(DATA_DIR / "files")) or DATA_DIR / "files"
)
BASTION_PUBLIC_DIR = DATA_DIR / "public"
BASTION_BASE_URL = (config.env("BASTION_BASE_URL", "") or "").rstrip("/")
# Refuse the exact name of a popular PyPI project that this index does not have (it would shadow
# the real one); turn off for an index that mirrors public projects by upload.
BASTION_RESERVE_PROTECTED_NAMES = config.env_bool("BASTION_RESERVE_PROTECTED_NAMES", True)
# PEP 625 sdist names (as PyPI enforces today); off accepts older files such as
# "python-dateutil-2.9.0.post0.tar.gz" whose name and version still match.
BASTION_STRICT_SDIST_FILENAMES = config.env_bool("BASTION_STRICT_SDIST_FILENAMES", True)
# New files for a release older than this many days are refused, as on PyPI (0: never).
BASTION_NEW_FILES_DAYS = config.env_int("BASTION_NEW_FILES_DAYS", 14)
BASTION_SUSPICIOUS_ACTION = config.env("BASTION_SUSPICIOUS_ACTION", "publish") or "publish"
# A scan that ran out of its time or parse budget is run once more with this many times those
# budgets before the file is held for review (1: no retry; docs/scanning.md).
BASTION_SCAN_RETRY_FACTOR = config.env_int("BASTION_SCAN_RETRY_FACTOR", 4)
# The largest description (README) an upload may carry, in bytes, and the seconds the scan
# task gives its rendering before showing it as plain text (bastion.packages.readme).
BASTION_MAX_DESCRIPTION_SIZE = config.env_int("BASTION_MAX_DESCRIPTION_SIZE", 512 * 1024)
BASTION_DESCRIPTION_RENDER_SECONDS = config.env_int("BASTION_DESCRIPTION_RENDER_SECONDS", 10)

TASKS = {
    "default": {
        "BACKEND": config.env("BASTION_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

EMAIL_BACKEND = config.env(
    "BASTION_EMAIL_BACKEND", "bastion.accounts.mail.StderrEmailBackend"
)
DEFAULT_FROM_EMAIL = config.env("BASTION_FROM_EMAIL", "bastion@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMTP (with BASTION_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = config.env("BASTION_EMAIL_HOST", "localhost") or "localhost"
EMAIL_PORT = config.env_int("BASTION_EMAIL_PORT", 25)
EMAIL_HOST_USER = config.env("BASTION_EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = config.env("BASTION_EMAIL_PASSWORD", "") or ""
EMAIL_USE_TLS = config.env_bool("BASTION_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = config.env_bool("BASTION_EMAIL_SSL", False)
EMAIL_TIMEOUT = config.env_int("BASTION_EMAIL_TIMEOUT", 10)
# How long a link in an email (verify an address, confirm a change) stays valid.
BASTION_EMAIL_LINK_HOURS = config.env_int("BASTION_EMAIL_LINK_HOURS", 24)

# Accounts and authorisation (docs/security.md).
# 2FA (TOTP or WebAuthn) required before creating tokens, managing projects or uploading.
BASTION_REQUIRE_2FA = config.env_bool("BASTION_REQUIRE_2FA", True)
# How long a re-authentication covers sensitive actions (2FA changes, email, adding an owner).
BASTION_REAUTH_SECONDS = config.env_int("BASTION_REAUTH_SECONDS", 900)
# Self-service sign-up on the web (off: accounts are made by `bastion user create` or an admin).
BASTION_ALLOW_REGISTRATION = config.env_bool("BASTION_ALLOW_REGISTRATION", False)
BASTION_SITE_NAME = config.env("BASTION_SITE_NAME", "bastion") or "bastion"
# WebAuthn relying party id: a registrable domain, default the host of BASTION_BASE_URL or of
# the request. Browsers refuse IP addresses: use http://localhost:8000, not 127.0.0.1.
BASTION_WEBAUTHN_RP_ID = config.env("BASTION_WEBAUTHN_RP_ID", "") or ""
# Offline breached-password list: a file of SHA-1 hashes (docs/security.md shows how to build it).
BASTION_BREACHED_PASSWORDS_FILE = config.env("BASTION_BREACHED_PASSWORDS_FILE", "") or ""
# Public keys of secret-scanning partners (GitHub's JSON format) for leaked-token disclosure.
BASTION_DISCLOSURE_KEYS_FILE = config.env("BASTION_DISCLOSURE_KEYS_FILE", "") or ""
BASTION_INVITATION_HOURS = config.env_int("BASTION_INVITATION_HOURS", 72)
# "scope.ip=N/period,scope.user=N/period,...": see bastion.ratelimit.SCOPES for the defaults.
BASTION_RATE_LIMITS = parse_rates(config.env("BASTION_RATE_LIMITS", "") or "")
BASTION_BEHIND_PROXY = config.env_bool("BASTION_BEHIND_PROXY", False)
RATELIMIT_USE_CACHE = "default"

# The built-in server against slow clients (bastion.serving, docs/operating.md): open
# connections per process and per client address (0: no cap; off by default behind a proxy,
# whose address every connection has), seconds for a request head to arrive, for a body to
# go without a byte and for a response to go unread, and the largest request body.
BASTION_MAX_CONNECTIONS = config.env_int("BASTION_MAX_CONNECTIONS", 1000)
BASTION_MAX_CONNECTIONS_PER_CLIENT = config.env_int(
    "BASTION_MAX_CONNECTIONS_PER_CLIENT", 0 if BASTION_BEHIND_PROXY else 64
)
BASTION_HEADER_TIMEOUT = config.env_int("BASTION_HEADER_TIMEOUT", 20)
BASTION_BODY_TIMEOUT = config.env_int("BASTION_BODY_TIMEOUT", 20)
BASTION_SEND_TIMEOUT = config.env_int("BASTION_SEND_TIMEOUT", 30)
BASTION_MAX_REQUEST_SIZE = config.env_int(
    "BASTION_MAX_REQUEST_SIZE", max(1024 * 1024 * 1024, BASTION_MAX_FILE_SIZE + 16 * 1024 * 1024)
)

CACHES = {
    "default": {
        "BACKEND": config.env(
            "BASTION_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"
        ),
        "LOCATION": config.env("BASTION_CACHE_LOCATION", "bastion"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": config.env("BASTION_LOG_LEVEL", "WARNING")},
}
