"""URLs of the login's second step and of the two-factor pages (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.account import login
from bastion.web.twofactor import views

urlpatterns: list[URLPattern] = [
    path("account/login/2fa/", login.login_two_factor, name="login-2fa"),
    path("account/reauth/", views.reauth, name="account-reauth"),
    path("account/two-factor/", views.two_factor, name="account-2fa"),
    path("account/two-factor/totp/", views.totp_enrol, name="account-2fa-totp"),
    path(
        "account/two-factor/totp/remove/",
        views.totp_remove,
        name="account-2fa-totp-remove",
    ),
    path(
        "account/two-factor/webauthn/add/",
        views.webauthn_add,
        name="account-2fa-webauthn-add",
    ),
    path(
        "account/two-factor/webauthn/<int:pk>/remove/",
        views.webauthn_remove,
        name="account-2fa-webauthn-remove",
    ),
    path(
        "account/two-factor/recovery-codes/generate/",
        views.recovery_generate,
        name="account-2fa-recovery-generate",
    ),
    path(
        "account/two-factor/recovery-codes/",
        views.recovery_codes,
        name="account-2fa-recovery-codes",
    ),
    path(
        "account/webauthn/register/options/",
        views.webauthn_register_options,
        name="webauthn-register-options",
    ),
    path(
        "account/webauthn/register/verify/",
        views.webauthn_register_verify,
        name="webauthn-register-verify",
    ),
    path(
        "account/webauthn/authenticate/<str:purpose>/options/",
        views.webauthn_auth_options,
        name="webauthn-auth-options",
    ),
    path(
        "account/webauthn/authenticate/<str:purpose>/verify/",
        views.webauthn_auth_verify,
        name="webauthn-auth-verify",
    ),
]
