"""The quality suites, defined in code: which expectation runs on which column, and what a failure means.

    >>> [c.expectation for c in posts_checks(now)][:2]
    ['expect_column_values_to_not_be_null(post_id)', 'expect_column_values_to_be_unique(post_id)']

Nothing here imports Great Expectations; `pipelines.quality.gx_runner` turns each `Check` into a GX
expectation. `critical` means the gate cannot repair the damage by holding rows back (broken identity,
broken aggregates), so publishing stops; other failures quarantine the rows that fail and publishing goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines.sources import CHANNEL_OF_KIND

# Feeds and app stores stamp posts with their own clocks; a little future is skew, more is a bad date.
CLOCK_SKEW = dt.timedelta(hours=1)
KNOWN_CHANNELS = tuple(dict.fromkeys(CHANNEL_OF_KIND.values()))  # one per source kind, from the registry
# ISO 639-1 two-letter codes, plus 'und' (undetermined) which the language stage writes when unsure.
ISO_639_1 = tuple("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el
en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu
ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na
nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so
sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split()) + ("und",)
# A row-level failure on more than this share of a run's rows means a stage is broken, not a few odd rows:
# quarantining most of the day would publish an empty day, so the failure becomes critical instead.
SYSTEMIC_SHARE = 0.5
SYSTEMIC_MIN_ROWS = 20


@dataclass(frozen=True)
class Check:
    """One expectation of a suite. `gx_type` is the GX 1.x expectation type; `kwargs` its arguments."""

    suite: str
    gx_type: str
    column: str
    kwargs: dict = field(default_factory=dict)
    critical: bool = False
    quarantine: bool = False  # failing rows (by post_id) go to core.quarantine
    why: str = ""

    @property
    def expectation(self) -> str:
        """The name stored in quality_results and quarantine: 'expect_column_values_to_be_in_set(lang)'."""
        return f"{self.gx_type}({self.column})"


def posts_checks(now: dt.datetime) -> list[Check]:
    """The posts suite; `now` fixes the 'not in the future' bound for this run."""
    return [
        Check("posts", "expect_column_values_to_not_be_null", "post_id", critical=True,
              why="every post needs its id"),
        Check("posts", "expect_column_values_to_be_unique", "post_id", critical=True,
              why="one row per post"),
        Check("posts", "expect_column_values_to_be_between", "created_at",
              {"max_value": now + CLOCK_SKEW}, quarantine=True,
              why=f"created_at no later than now + {CLOCK_SKEW}"),
        Check("posts", "expect_column_values_to_be_in_set", "lang", {"value_set": list(ISO_639_1)},
              quarantine=True, why="ISO 639-1 or 'und' once enriched (NULL = not enriched yet)"),
        Check("posts", "expect_column_values_to_be_between", "sentiment", {"min_value": -1.0, "max_value": 1.0},
              quarantine=True, why="sentiment within [-1, 1]"),
        # body_chars is the body without whitespace (computed in scope.py); deleted posts have no body.
        Check("posts", "expect_column_value_lengths_to_be_between", "body_chars",
              {"min_value": 1, "row_condition": "is_deleted==False", "condition_parser": "pandas"},
              quarantine=True, why="body non-empty after cleaning unless the post was deleted"),
        Check("posts", "expect_column_values_to_match_regex", "url", {"regex": r"^https?://\S+$"},
              quarantine=True, why="url is http(s) when present"),
        Check("posts", "expect_column_values_to_be_in_set", "channel", {"value_set": list(KNOWN_CHANNELS)},
              quarantine=True, why="channel is one of " + "/".join(KNOWN_CHANNELS)),
    ]


def topics_checks() -> list[Check]:
    return [
        Check("topics", "expect_column_values_to_not_be_null", "topic_id", critical=True, why="every topic has an id"),
        Check("topics", "expect_column_values_to_be_unique", "topic_id", critical=True,
              why="topic ids are stable keys"),
        Check("topics", "expect_column_value_lengths_to_be_between", "label_chars", {"min_value": 1},
              why="every topic has a readable label"),
    ]


def trends_checks() -> list[Check]:
    return [
        Check("topic_trends", "expect_column_values_to_be_between", "share", {"min_value": 0.0, "max_value": 1.0},
              critical=True, why="a share of a channel's posts lies within [0, 1]"),
        Check("topic_trends", "expect_column_values_to_not_be_null", "share", critical=True,
              why="every trend row has a share"),
    ]
