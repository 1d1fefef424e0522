from __future__ import annotations

from django.apps import AppConfig


class NamesConfig(AppConfig):
    name = "bastion.names"
    label = "names"
    verbose_name = "Name policy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bastion.names import database

        database.connect_signals()
