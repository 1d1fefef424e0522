"""A seeded HTTP fuzz of a live ``bastion serve``: the upload API and every GET route."""
