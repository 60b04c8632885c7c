"""One module per data view; importing this package registers them all."""

from tools.views import customers

__all__ = ["customers"]
