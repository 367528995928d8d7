"""Data-quality gates (Great Expectations 1.x suites defined in code) run before each snapshot is published.

    >>> from pipelines.quality import run_quality_checks
    >>> run_quality_checks(con, run_id)["critical_failures"]
    0

Modules: `suites` (what is expected), `scope` (which rows: only those changed since the last check),
`gx_runner` (GX on pandas, offline), `gate` (record results, quarantine rows).
"""

from pipelines.quality.gate import check_trends, run_quality_checks

__all__ = ["check_trends", "run_quality_checks"]
