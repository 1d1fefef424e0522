"""Settings for the test suite: bastion's own, with a private data folder per test process
and tasks run at once, set before bastion.settings reads the environment."""

import atexit
import os
import shutil
import tempfile

os.environ["BASTION_DATA_DIR"] = tempfile.mkdtemp(prefix="bastion-test-")
os.environ.setdefault("BASTION_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ["BASTION_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
# Scans are decided by the task (the backend above, or a worker in the queue tests); the tests
# of the upload's own scan of a small file (tests/upload/test_verdict.py) turn it on, and the
# live servers of tests/e2e run with the default.
os.environ["BASTION_UPLOAD_SCAN_IN_REQUEST"] = "0"

from bastion.settings import *  # noqa: F403

# Leave nothing behind in /tmp when the test process exits.
atexit.register(shutil.rmtree, os.environ["BASTION_DATA_DIR"], ignore_errors=True)

# argon2 as in production, with low costs: the suite creates hundreds of users.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
