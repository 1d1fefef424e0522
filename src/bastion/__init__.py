"""bastion: a self-hostable, PyPI-compatible package index built to stop supply-chain attacks."""

__version__ = "0.1.0"
