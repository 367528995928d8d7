"""Map exceptions to the CLI's exit codes and one readable line each (tracebacks only with --debug)."""

from __future__ import annotations

import errno

import typer

try:  # typer >= 0.20 vendors its own click; older versions use click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions


def classify(exc: BaseException) -> tuple[int | None, str]:
    """(exit code, message) for an exception; 2 = usage/config, 1 = a stage failed, 130 = interrupted."""
    from pipelines.cli import StageFailed, UsageError
    from pipelines.config import ConfigError

    if isinstance(exc, typer.Exit):
        return exc.exit_code, ""
    if isinstance(exc, typer.Abort) or isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, click_exceptions.ClickException):
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see `{ctx.command_path} --help`)"
        return (2 if isinstance(exc, click_exceptions.UsageError) else 1), exc.format_message() + hint
    if isinstance(exc, (ConfigError, UsageError)):
        return 2, str(exc)
    if isinstance(exc, StageFailed):
        return 1, str(exc)
    if isinstance(exc, OSError):
        reason = {errno.ENOSPC: "the disk is full", errno.EACCES: "permission denied",
                  errno.EROFS: "the file system is read-only"}.get(exc.errno, exc.strerror or str(exc))
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return 1, f"{reason}{where}: free space or fix permissions, then rerun; nothing stored was lost"
    known = {"WarehouseError", "SourceError", "FetchError", "LandingError", "PseudonymKeyError", "AnalyzeError",
             "EmbeddingError", "ReportError", "QualityError", "TopicError", "ForgetError", "LoopError"}
    if exc.__class__.__name__ in known:
        return 1, str(exc)
    return 1, f"unexpected {exc.__class__.__name__}: {exc} (rerun with --debug for the traceback)"
