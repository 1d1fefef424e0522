"""API tokens (macaroons with caveats) and the one module that decides authorisation.

``policy.authorize`` is the only place that answers "may this identity do this?".
"""
