"""URLs of the login's second step and of bastion.web.twofactor (included by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web import auth, twofactor

urlpatterns: list[URLPattern] = [
    path("account/login/2fa/", auth.login_two_factor, name="login-2fa"),
    path("account/reauth/", twofactor.reauth, name="account-reauth"),
    path("account/two-factor/", twofactor.two_factor, name="account-2fa"),
    path("account/two-factor/totp/", twofactor.totp_enrol, name="account-2fa-totp"),
    path(
        "account/two-factor/totp/remove/",
        twofactor.totp_remove,
        name="account-2fa-totp-remove",
    ),
    path(
        "account/two-factor/webauthn/add/",
        twofactor.webauthn_add,
        name="account-2fa-webauthn-add",
    ),
    path(
        "account/two-factor/webauthn/<int:pk>/remove/",
        twofactor.webauthn_remove,
        name="account-2fa-webauthn-remove",
    ),
    path(
        "account/two-factor/recovery-codes/generate/",
        twofactor.recovery_generate,
        name="account-2fa-recovery-generate",
    ),
    path(
        "account/two-factor/recovery-codes/",
        twofactor.recovery_codes,
        name="account-2fa-recovery-codes",
    ),
    path(
        "account/webauthn/register/options/",
        twofactor.webauthn_register_options,
        name="webauthn-register-options",
    ),
    path(
        "account/webauthn/register/verify/",
        twofactor.webauthn_register_verify,
        name="webauthn-register-verify",
    ),
    path(
        "account/webauthn/authenticate/<str:purpose>/options/",
        twofactor.webauthn_auth_options,
        name="webauthn-auth-options",
    ),
    path(
        "account/webauthn/authenticate/<str:purpose>/verify/",
        twofactor.webauthn_auth_verify,
        name="webauthn-auth-verify",
    ),
]
