from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "bastion.packages"
    label = "packages"
    verbose_name = "Packages"
