"""Settings for the test suite: bastion's own, with a private data folder per test process
and tasks run at once, set before bastion.settings reads the environment."""

import os
import tempfile

os.environ["BASTION_DATA_DIR"] = tempfile.mkdtemp(prefix="bastion-test-")
os.environ.setdefault("BASTION_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ["BASTION_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"

from bastion.settings import *  # noqa: F403

PASSWORD_HASHERS = [  # argon2 stays the production hasher; tests create many users
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
