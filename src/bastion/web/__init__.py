"""Pages for people: home and search, project pages, login, account and project management."""
