from django.apps import AppConfig


class UploadConfig(AppConfig):
    name = "bastion.upload"
    label = "upload"
    verbose_name = "Upload"

    def ready(self) -> None:
        from bastion.upload import tasks  # noqa: F401  (connects the held-file notice)
