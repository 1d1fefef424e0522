"""Second factors: TOTP, security keys and recovery codes, the login's second step and
re-authentication."""
