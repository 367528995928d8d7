"""community-listening: what customers talk about, where, and how they feel about it."""

__version__ = "0.1.0"
