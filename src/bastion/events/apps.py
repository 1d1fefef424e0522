from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "bastion.events"
    label = "events"
    verbose_name = "Audit events"
