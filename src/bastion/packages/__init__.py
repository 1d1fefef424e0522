"""Projects, releases, files and roles. Every state change goes through ``services``."""
