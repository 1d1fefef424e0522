"""What installers read: the simple API (PEP 503/691), the JSON API and file downloads."""
