"""Errors written for the people who read them.

Every error jpagent raises on purpose is a :class:`JpagentError`: it says what failed, with
which input, and what to try next, in English and in Japanese. The CLI prints ``str(error)``
and exits with status 1; the SDK lets it propagate.
"""

from __future__ import annotations


class JpagentError(Exception):
    """Base class. ``message`` is English; ``message_ja`` the same in Japanese (optional)."""

    def __init__(self, message: str, message_ja: str = "", hint: str = "") -> None:
        self.message = message
        self.message_ja = message_ja
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        if self.message_ja:
            parts.append(self.message_ja)
        return "\n".join(parts)


class ConfigError(JpagentError):
    """A setting is unknown, malformed or has a value of the wrong type."""


class SpecError(ConfigError):
    """A model spec string (``llamacpp:default``, ``ollama:NAME``…) cannot be used."""


class AssetError(JpagentError):
    """An embedded model asset is missing, incomplete or fails its checksum."""


class DecodeError(JpagentError):
    """A file's bytes cannot be decoded strictly with any candidate encoding."""


class LoaderError(JpagentError):
    """A file cannot be turned into documents (unsupported, binary, too large, broken)."""


class ModelError(JpagentError):
    """A chat model cannot answer: server down or hung, stream cut off, model missing."""
