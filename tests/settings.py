"""Settings for the test suite: bastion's own, with a private data folder per test process
and tasks run at once, set before bastion.settings reads the environment."""

import atexit
import os
import shutil
import tempfile

os.environ["BASTION_DATA_DIR"] = tempfile.mkdtemp(prefix="bastion-test-")
os.environ.setdefault("BASTION_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ["BASTION_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"

from bastion.settings import *  # noqa: F403

# Leave nothing behind in /tmp when the test process exits.
atexit.register(shutil.rmtree, os.environ["BASTION_DATA_DIR"], ignore_errors=True)

# argon2 as in production, with low costs: the suite creates hundreds of users.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
