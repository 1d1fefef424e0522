"""Where distribution files live.

Files are kept under a private root, addressed by their BLAKE2b-256 digest, and are made
installable by *publishing* them into a public tree that the index (or nginx, or a CDN) serves
as it is. Holding or removing a file unpublishes it; the private copy stays for moderators and
for ``bastion check``. The same public tree carries the pre-rendered simple pages.

:func:`get_storage` returns the configured backend; the local-folder backend is the default,
and an object-store backend implements the same :class:`Storage` protocol.
"""

from bastion.storage.base import Digester, Storage, file_digests, file_key, get_storage

__all__ = ["Digester", "Storage", "file_digests", "file_key", "get_storage"]
