"""URLs of the account: login, the account page, registration, email and password (included
by bastion.web.urls)."""

from django.urls import URLPattern, path

from bastion.web.account import email_views, login, page

urlpatterns: list[URLPattern] = [
    path("account/login/", login.LoginView.as_view(), name="login"),
    path("account/logout/", login.LogoutView.as_view(), name="logout"),
    path("account/", page.account, name="account"),
    path("account/register/", email_views.register, name="register"),
    path("account/email/resend/", email_views.email_resend, name="email-resend"),
    path("account/email/verify/<str:token>/", email_views.email_verify, name="email-verify"),
    path("account/email/change/", email_views.email_change, name="email-change"),
    path(
        "account/email/confirm/<str:token>/",
        email_views.email_change_confirm,
        name="email-change-confirm",
    ),
    path("account/password/change/", email_views.password_change, name="password-change"),
    path(
        "account/password/reset/",
        email_views.PasswordResetView.as_view(),
        name="password-reset",
    ),
    path(
        "account/password/reset/sent/",
        email_views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "account/password/reset/complete/",
        email_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path(
        "account/password/reset/<str:uidb64>/<str:token>/",
        email_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
]
