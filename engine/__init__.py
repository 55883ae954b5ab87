"""ClipSeek's engine: everything below the window. Never imports Qt."""

__version__ = "0.1.0"
