"""What moved: each topic x channel against its own history, and sources that keep failing.

    >>> found = detect(con, settings.raw.alerts, date(2026, 11, 21), settings.sources)
    >>> [(a.kind, a.topic_id, a.channel, round(a.score, 1)) for a in found]
    [('topic_volume', 3, 'import', 7.9)]

A topic alert compares the last `recent_days` days (up to the run's day) with the `baseline_days` before them,
in one channel, on the topic_trends counts (what a trend row counts: sql/refresh/topic_trends.sql):

- topic_volume: the topic's share of the channel's posts grew. Score = `rising_score(posts now, channel posts
  now, posts before, channel posts before)`, the report's rising score, so a channel that simply got busier
  raises nothing and small counts are shrunk towards 0.
- topic_negative_share: the share of the topic's posts labelled negative grew. Score = `rising_score(negative
  now, topic posts now, negative before, topic posts before)`: the same small-count-aware ratio, of rates
  within the topic.

Either needs the score (>= min_score), enough posts (>= min_posts in the recent window, and as many in the
channel's or topic's baseline: no history, no comparison) and a change worth telling (share grown >= min_ratio
times, or negative share up >= min_negative_rise). The same alert is not raised again within cooldown_days.

source_down: a configured source whose runs failed on each of its last `source_down_days` run days (a day with
any successful or partial run breaks the streak); one alert per outage, keyed by the first failed day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines.topics.trends import rising_score

TOPIC_KINDS = ("topic_volume", "topic_negative_share")
SOURCE_DOWN = "source_down"
KINDS = TOPIC_KINDS + (SOURCE_DOWN,)
EXAMPLES = 3  # example posts per alert

WINDOW_COUNTS_SQL = """
SELECT channel, topic_id,
       coalesce(sum(posts) FILTER (WHERE day >= $recent_from), 0) AS posts_now,
       coalesce(sum(posts) FILTER (WHERE day < $recent_from), 0) AS posts_before,
       coalesce(sum(negative) FILTER (WHERE day >= $recent_from), 0) AS negative_now,
       coalesce(sum(negative) FILTER (WHERE day < $recent_from), 0) AS negative_before
FROM core.topic_trends
WHERE day BETWEEN $baseline_from AND $day
GROUP BY channel, topic_id
"""

# Where most of a topic's recent posts in a channel were (ties: the alphabetically first community).
TOP_COMMUNITY_SQL = """
SELECT channel, topic_id, arg_max(community, posts_community ORDER BY community DESC) AS community
FROM (SELECT channel, topic_id, community, sum(posts) AS posts_community
      FROM core.topic_trends WHERE day BETWEEN $recent_from AND $day GROUP BY ALL)
GROUP BY channel, topic_id
"""

# The posts behind a topic alert, counted as topic_trends counts them; negative ones first for negative share.
EXAMPLES_SQL = """
SELECT post_id
FROM core.posts p
WHERE p.channel = $channel AND coalesce(p.topic_id, -1) = $topic_id
  AND p.created_at >= timezone('UTC', $recent_from::TIMESTAMP)
  AND p.created_at < timezone('UTC', ($day + 1)::TIMESTAMP)
  AND NOT p.is_deleted AND p.duplicate_of IS NULL
  AND p.post_id NOT IN (SELECT post_id FROM core.quarantine)
ORDER BY CASE WHEN $negative THEN p.sentiment_label = 'negative' ELSE true END DESC,
         coalesce(p.community, '') = $community DESC,
         CASE WHEN $negative THEN p.sentiment ELSE 0 END, p.created_at DESC, p.post_id
LIMIT $limit
"""

# Per source and run day (the day a daily run was for; started_at's UTC date for a lone `listen ingest`):
# whether any run succeeded (ok or partial), and the last error.
SOURCE_DAYS_SQL = """
SELECT s.source,
       coalesce(r.run_date, (s.started_at AT TIME ZONE 'UTC')::DATE) AS day,
       bool_or(s.status IN ('ok', 'partial')) AS succeeded,
       arg_max(s.error, s.started_at) AS last_error
FROM core.source_runs s LEFT JOIN core.pipeline_runs r USING (run_id)
WHERE coalesce(r.run_date, (s.started_at AT TIME ZONE 'UTC')::DATE) <= $day
GROUP BY ALL
ORDER BY s.source, day DESC
"""


@dataclass
class Alert:
    """One alert before it is stored: `alert_id` is its key (stable across reruns of the same day)."""

    alert_id: str
    day: dt.date
    kind: str
    score: float | None = None
    topic_id: int | None = None
    channel: str | None = None
    community: str | None = None
    source: str | None = None
    example_post_ids: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WindowCounts:
    """One topic in one channel: its posts (and negative posts) in the recent window and the baseline before it,
    and the channel's posts in each."""

    channel: str
    topic_id: int
    posts_now: int
    posts_before: int
    negative_now: int
    negative_before: int
    channel_now: int
    channel_before: int


def topic_alert_id(day: dt.date, kind: str, topic_id: int, channel: str) -> str:
    return f"{day.isoformat()}:{kind}:{topic_id}:{channel}"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def judge_volume(c: WindowCounts, config) -> dict:
    """The counts behind a topic_volume alert and its score; `held` says why it is not raised (None: raise it)."""
    score = rising_score(c.posts_now, c.channel_now, c.posts_before, c.channel_before)
    share_now, share_before = _share(c.posts_now, c.channel_now), _share(c.posts_before, c.channel_before)
    ratio = share_now / share_before if share_before else None
    if c.posts_now < config.min_posts:
        held = f"{c.posts_now} posts < min_posts {config.min_posts}"
    elif c.channel_before < config.min_posts:
        held = f"channel history {c.channel_before} posts < min_posts {config.min_posts}"
    elif score < config.min_score:
        held = f"score {score:.2f} < min_score {config.min_score:g}"
    elif ratio is not None and ratio < config.min_ratio:
        held = f"share x{ratio:.2f} < min_ratio {config.min_ratio:g}"
    else:
        held = None
    return {"score": score, "held": held, "posts_now": c.posts_now, "posts_before": c.posts_before,
            "channel_now": c.channel_now, "channel_before": c.channel_before,
            "share_now": share_now, "share_before": share_before, "ratio": ratio}


def judge_negative_share(c: WindowCounts, config) -> dict:
    """The counts behind a topic_negative_share alert and its score; `held` as for judge_volume."""
    score = rising_score(c.negative_now, c.posts_now, c.negative_before, c.posts_before)
    share_now, share_before = _share(c.negative_now, c.posts_now), _share(c.negative_before, c.posts_before)
    if c.negative_now < config.min_posts:
        held = f"{c.negative_now} negative < min_posts {config.min_posts}"
    elif c.posts_before < config.min_posts:
        held = f"topic history {c.posts_before} posts < min_posts {config.min_posts}"
    elif score < config.min_score:
        held = f"score {score:.2f} < min_score {config.min_score:g}"
    elif share_now - share_before < config.min_negative_rise:
        held = f"{100 * (share_now - share_before):+.0f} points < min_negative_rise {100 * config.min_negative_rise:.0f}"
    else:
        held = None
    return {"score": score, "held": held, "posts_now": c.posts_now, "posts_before": c.posts_before,
            "negative_now": c.negative_now, "negative_before": c.negative_before,
            "share_now": share_now, "share_before": share_before}


JUDGES = {"topic_volume": judge_volume, "topic_negative_share": judge_negative_share}


def window_counts(con, day: dt.date, recent_days: int, baseline_days: int) -> list[WindowCounts]:
    """Every topic x channel with posts in the recent window or the baseline, with its channel's totals."""
    recent_from = day - dt.timedelta(days=recent_days - 1)
    params = {"day": day, "recent_from": recent_from, "baseline_from": recent_from - dt.timedelta(days=baseline_days)}
    found = con.execute(WINDOW_COUNTS_SQL, params).fetchall()
    totals: dict[str, list[int]] = {}
    for channel, _, now, before, _, _ in found:
        total = totals.setdefault(channel, [0, 0])
        total[0] += int(now)
        total[1] += int(before)
    return [WindowCounts(channel, int(topic), int(now), int(before), int(neg_now), int(neg_before),
                         *totals[channel])
            for channel, topic, now, before, neg_now, neg_before in found]


def _recently_raised(con, day: dt.date, cooldown_days: int) -> set[tuple]:
    """(kind, topic_id, channel) of topic alerts raised for other days within cooldown_days of `day` (either side:
    a backfill); an alert of `day` itself is found again and stored once, by its key."""
    if cooldown_days <= 0:
        return set()
    rows = con.execute("SELECT kind, topic_id, channel FROM core.alerts WHERE kind IN ('topic_volume', "
                       "'topic_negative_share') AND day > $day - $days AND day < $day + $days AND day <> $day",
                       {"day": day, "days": cooldown_days}).fetchall()
    return {tuple(r) for r in rows}


def judged(con, config, day: dt.date) -> list[tuple[str, WindowCounts, dict]]:
    """Every (kind, counts, judgement) of the window ending `day`, for each topic x channel with posts now;
    strongest score first. A judgement held back by the cooldown says so."""
    cooling = _recently_raised(con, day, config.cooldown_days)
    out = []
    for c in window_counts(con, day, config.recent_days, config.baseline_days):
        if c.topic_id < 0 or not c.posts_now:
            continue  # posts without a topic are no subject to alert on
        for kind, judge in JUDGES.items():
            detail = judge(c, config)
            if kind == "topic_negative_share" and not c.negative_now:
                continue  # nothing negative now: no move, whatever the pseudo-counts make of tiny totals
            if detail["held"] is None and (kind, c.topic_id, c.channel) in cooling:
                detail["held"] = f"cooldown: raised in the last {config.cooldown_days} days"
            out.append((kind, c, detail))
    return sorted(out, key=lambda item: (-item[2]["score"], item[0], item[1].channel, item[1].topic_id))


def topic_alerts(con, config, day: dt.date) -> list[Alert]:
    """Topic alerts for the window ending `day`, strongest first; none that was raised within the cooldown."""
    recent_from = day - dt.timedelta(days=config.recent_days - 1)
    communities = {(c, t): m for c, t, m in con.execute(TOP_COMMUNITY_SQL, {"day": day,
                                                                           "recent_from": recent_from}).fetchall()}
    found = []
    for kind, c, detail in judged(con, config, day):
        if detail.pop("held") is not None:
            continue
        community = communities.get((c.channel, c.topic_id)) or None
        examples = [r[0] for r in con.execute(EXAMPLES_SQL, {
            "channel": c.channel, "topic_id": c.topic_id, "recent_from": recent_from, "day": day,
            "negative": kind == "topic_negative_share", "community": community or "", "limit": EXAMPLES,
        }).fetchall()]
        found.append(Alert(topic_alert_id(day, kind, c.topic_id, c.channel), day, kind,
                           score=round(detail.pop("score"), 3), topic_id=c.topic_id, channel=c.channel,
                           community=community, example_post_ids=examples,
                           detail={**detail, "recent_days": config.recent_days, "baseline_days": config.baseline_days}))
    return found


def failing_streaks(con, day: dt.date) -> dict[str, dict]:
    """Per source: its current run of failed days up to `day` ({'days': n, 'since': first failed day,
    'error': the last error}); sources whose last run day succeeded are left out."""
    streaks: dict[str, dict] = {}
    finished: set[str] = set()
    for source, run_day, succeeded, error in con.execute(SOURCE_DAYS_SQL, {"day": day}).fetchall():
        if source in finished:
            continue
        if succeeded:
            finished.add(source)
            continue
        streak = streaks.setdefault(source, {"days": 0, "since": run_day, "error": error})
        streak["days"] += 1
        streak["since"] = run_day
    return streaks


def source_alerts(con, config, day: dt.date, sources: list) -> list[Alert]:
    """One alert per configured, enabled source that failed on its last `source_down_days` run days or more."""
    streaks = failing_streaks(con, day)
    found = []
    for source in sources:
        streak = streaks.get(source.name)
        if not source.enabled or not streak or streak["days"] < config.source_down_days:
            continue
        found.append(Alert(f"{SOURCE_DOWN}:{source.name}:{streak['since'].isoformat()}", day, SOURCE_DOWN,
                           channel=source.kind, source=source.name,
                           detail={"days": streak["days"], "since": streak["since"].isoformat(),
                                   "error": (streak["error"] or "")[:500]}))
    return found


def detect(con, config, day: dt.date, sources: list, *, topics: bool = True) -> list[Alert]:
    """Every alert the data supports for `day` (topic alerts only when `topics`: the run's quality gate passed)."""
    return (topic_alerts(con, config, day) if topics else []) + source_alerts(con, config, day, sources)
