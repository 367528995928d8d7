"""Source registry: `kind` in listen.toml -> the module that fetches and normalises it."""

from __future__ import annotations

import importlib
from types import ModuleType

SOURCE_MODULES = {
    "feed": "pipelines.sources.feed",
    "import": "pipelines.sources.importfile",
    "reddit": "pipelines.sources.reddit",
    "appstore": "pipelines.sources.appstore",
    "mastodon": "pipelines.sources.mastodon",
    "bluesky": "pipelines.sources.bluesky",
    "discourse": "pipelines.sources.discourse",
}

CHANNEL_OF_KIND = {kind: kind for kind in SOURCE_MODULES}  # posts.channel = the kind (imports may say otherwise)


def source_module(kind: str) -> ModuleType:
    """The module for a source kind (imported on first use, so a DAG parse imports nothing heavy)."""
    try:
        return importlib.import_module(SOURCE_MODULES[kind])
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}; known: {', '.join(SOURCE_MODULES)}") from None


def channel_for(config) -> str:
    """posts.channel for a source: its kind, except imports that declare another channel (e.g. review exports)."""
    if config.kind == "import":
        return config.channel
    return CHANNEL_OF_KIND[config.kind]
