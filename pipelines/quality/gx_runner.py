"""Run a list of `Check`s on a pandas DataFrame with Great Expectations 1.x, offline and quietly.

    >>> outcomes = validate_frame(posts_checks(now), frame, id_column="post_id")
    >>> [(o.check.expectation, o.unexpected_count, o.failing_ids) for o in outcomes if not o.success]
    [('expect_column_values_to_be_between(sentiment)', 1, ['feed:42'])]

Why pandas and not GX's SQL datasource: with duckdb-engine, GX 1.x's SQL path reports success on data it
never read, so rows are read from DuckDB by `scope.py` and handed over as DataFrames. The context is
ephemeral (nothing written to disk), analytics are off and progress bars are hidden.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from dataclasses import dataclass, field

from pipelines.quality.suites import SYSTEMIC_MIN_ROWS, SYSTEMIC_SHARE, Check

# Before GX is imported: no usage statistics whatever the user's environment says, and no info-level chatter
# (GX logs its docs registry while importing, which lands in every Airflow task log).
os.environ["GX_ANALYTICS_ENABLED"] = "false"
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class Outcome:
    """What one expectation found: `failing_ids` are the id_column values of the failing rows."""

    check: Check
    success: bool
    element_count: int
    unexpected_count: int
    critical: bool
    failing_ids: list = field(default_factory=list)
    details: dict = field(default_factory=dict)


def _expectation_class(gx_type: str):
    import great_expectations.expectations as gxe

    name = "".join(part.capitalize() for part in gx_type.split("_"))
    try:
        return getattr(gxe, name)
    except AttributeError:
        raise ValueError(f"quality check uses unknown GX expectation {gx_type!r} ({name}); "
                         f"see great_expectations.expectations for the available ones") from None


def offline_context():
    """An ephemeral GX context with analytics and progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def _plain(value):
    """JSON-safe sample values (NaN -> None, timestamps -> ISO strings)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def validate_frame(checks: list[Check], frame, id_column: str | None = None, context=None) -> list[Outcome]:
    """Validate `frame` against `checks` in one GX suite; one Outcome per check, in order."""
    import great_expectations as gx

    context = context or offline_context()
    suffix = uuid.uuid4().hex[:8]
    source = context.data_sources.add_pandas(f"listen_{suffix}")
    batch_definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=f"{checks[0].suite}_{suffix}" if checks else f"empty_{suffix}")
    for check in checks:
        suite.add_expectation(_expectation_class(check.gx_type)(column=check.column, **check.kwargs))
    result_format: dict = {"result_format": "COMPLETE"}
    if id_column:
        result_format["unexpected_index_column_names"] = [id_column]
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    validation = batch.validate(suite, result_format=result_format)
    # GX returns results in suite order; match on (type, column) anyway so a reordering cannot mislabel one.
    by_key = {(r.expectation_config.type, r.expectation_config.kwargs.get("column")): r for r in validation.results}
    return [_outcome(check, by_key.get((check.gx_type, check.column)), id_column) for check in checks]


def _outcome(check: Check, result, id_column: str | None) -> Outcome:
    if result is None:
        return Outcome(check, False, 0, 0, True, details={"error": "GX returned no result for this expectation"})
    info = result.exception_info or {}
    raised = info.get("raised_exception") if isinstance(info, dict) else False
    if raised:
        message = str(info.get("exception_message") or "unknown error")[:500]
        return Outcome(check, False, 0, 0, True, details={"error": f"expectation could not run: {message}"})
    stats = result.result or {}
    elements = int(stats.get("element_count") or 0)
    unexpected = int(stats.get("unexpected_count") or 0)
    failing = []
    if id_column and unexpected:
        failing = sorted({_plain(row.get(id_column)) for row in stats.get("unexpected_index_list") or []
                          if _plain(row.get(id_column)) is not None})
    systemic = (not check.critical and unexpected >= SYSTEMIC_MIN_ROWS and elements
                and unexpected / elements > SYSTEMIC_SHARE)
    details = {"why": check.why, "checked": elements,
               "sample": [_plain(v) for v in (stats.get("partial_unexpected_list") or [])[:5]]}
    if systemic:
        details["systemic"] = (f"{unexpected} of {elements} rows failed: a stage is broken, so this blocks "
                               f"publishing instead of quarantining most of the run")
    return Outcome(check, bool(result.success), elements, unexpected, bool(check.critical or systemic),
                   failing_ids=failing, details=json.loads(json.dumps(details, default=str)))
