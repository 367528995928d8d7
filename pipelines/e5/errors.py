"""The embedding error, in a module of its own so the engine (`pipelines.e5`) and the backends
(`pipelines.embeddings`, which re-exports it) can both raise it without importing each other."""

from __future__ import annotations

from pipelines.errors import ListenError


class EmbeddingError(ListenError):
    """The configured embedding backend cannot be used; the message says what to install or set."""
