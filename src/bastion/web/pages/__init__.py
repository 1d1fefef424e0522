"""The public pages: home and search, the name check, project and release pages."""
