"""The audit trail: security events and moderator actions, append-only.

Callers write an event inside the same transaction as the change it records, so an event
exists if and only if the change was committed.
"""
