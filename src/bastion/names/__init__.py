"""Name policy: normalisation, prohibited names, typosquatting and look-alike detection.

The public entry points are :class:`bastion.names.policy.NamePolicy` and
:func:`bastion.names.policy.check_name`; this package imports nothing heavy so that
``bastion check-name`` starts fast.
"""
