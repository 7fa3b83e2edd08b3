"""opsbot: a Discord chat-ops bot for useapi.net job schedulers."""

__version__ = "0.1.0"
