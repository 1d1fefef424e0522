"""API tokens (macaroons with caveats): issuing, authenticating, revoking, leak disclosure.

Whether a token may do an action is decided by :func:`bastion.authz.authorize`.
"""
