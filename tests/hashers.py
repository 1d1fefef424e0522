from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """argon2, with costs low enough that tests creating many users stay fast."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
