"""ghee: a self-hosted content service that speaks the ButterCMS API v2 for Collections."""

__version__ = "0.1.0"
