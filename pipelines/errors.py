"""The one base of every error the product raises on purpose: a message for the user and an exit code.

    >>> class LandingError(ListenError):
    ...     '''A landed file that cannot be written or read; names the file.'''
    >>> raise LandingError("data/landing/blog/2026-11-21/r1.jsonl.gz: not gzip; delete it and rerun")

The message is what `listen` prints after "error:" (it names the source, file or stage and the next step; never a
secret), and ``exit_code`` is what it exits with: 1 a stage or source failed, 2 bad usage or config. Each error
class lives beside the code that raises it; `pipelines.cli.main` maps them all in one place by this base class.
This module imports nothing, so every module can use it without an import circle.
"""

from __future__ import annotations


class ListenError(Exception):
    """Something the user can act on went wrong; str(error) says what and what to do next."""

    exit_code = 1


class UsageError(ListenError):
    """A command was called wrongly (a bad option value, a missing argument)."""

    exit_code = 2


class StageFailed(ListenError):
    """A stage or source of a run failed; the message names each one and its cause."""
