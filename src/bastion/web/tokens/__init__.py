"""The API token pages: create, revoke one, revoke all."""
