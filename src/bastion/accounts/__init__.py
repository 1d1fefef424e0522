"""Users, password hashing and (later) two-factor authentication."""
