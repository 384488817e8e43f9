"""A self-hosted bridge between a blog and the fediverse."""

__version__ = "0.1.1"
