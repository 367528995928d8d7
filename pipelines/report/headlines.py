"""Three to five headline sentences written from the report's numbers, in the report language.

    >>> headlines(data, Strings("en"), window)
    ['1,204 posts in the last 7 days (up 18% on the 7 days before).', 'Most came from reddit (812), ...', ...]

Sentences appear in a fixed priority (volume, where, mood, biggest movers, complaints, open follow-ups) and
only when their numbers exist, so a warehouse without enrichment or topics still gets true sentences.
"""

from __future__ import annotations

from pipelines.report.i18n import Strings

MAX_SENTENCES = 5
MIN_POSTS_FOR_MOOD = 3  # a channel's mean mood from one or two posts would headline noise


def topic_name(row: dict, t: Strings) -> str:
    if row.get("topic_id", -1) is None or row.get("topic_id", -1) < 0:
        return t("unassigned")
    return row.get("label") or f"#{row['topic_id']}"


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = {"en": "and", "da": "og", "de": "und"}[lang]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def headlines(data: dict, t: Strings, window) -> list[str]:
    totals = data["totals"]
    days = window.days
    if not totals["posts"]:
        sentences = [t("h_empty", days=days)]
        if data["follow_up_count"]:
            sentences.append(t("h_follow_ups", count=t.int(data["follow_up_count"])))
        return sentences
    out: list[tuple[int, str]] = []  # (priority: lower survives the cut to MAX_SENTENCES, sentence)
    if totals["posts_prev"]:
        out.append((0, t("h_volume", posts=t.int(totals["posts"]), days=days,
                         change=t.change(totals["posts"], totals["posts_prev"]))))
    else:
        out.append((0, t("h_volume_new", posts=t.int(totals["posts"]), days=days)))
    active = [c for c in data["channels"] if c["posts"]]
    if len(active) > 1:
        top = _join([f"{c['channel']} ({t.int(c['posts'])})" for c in active[:3]], t.lang)
        out.append((4, t("h_channels", top=top)))
    moods = [c for c in active if c["sentiment"] is not None and c["posts"] >= MIN_POSTS_FOR_MOOD]
    if len(moods) >= 2:
        low = min(moods, key=lambda c: (c["sentiment"], c["channel"]))
        high = max(moods, key=lambda c: (c["sentiment"], c["channel"]))
        out.append((1, t("h_sentiment", low=low["channel"], low_value=t.num(low["sentiment"], 2, signed=True),
                         high=high["channel"], high_value=t.num(high["sentiment"], 2, signed=True))))
    elif len(moods) == 1:
        only = moods[0]
        out.append((1, t("h_sentiment_one", channel=only["channel"], value=t.num(only["sentiment"], 2, signed=True),
                         previous=t.num(only["sentiment_prev"], 2, signed=True) or "–")))
    method = data.get("method") or {}
    state = method.get("topic_state") or {}
    if method.get("topic_model") is None and state.get("state") in ("waiting", "no_topics"):
        out.append((2, t(f"h_topics_{state['state']}", posts=t.int(state["posts"]), needed=t.int(state["needed"]))))
    topics = data["topics"]
    if topics["rising"]:
        top = topics["rising"][0]
        out.append((2, t("h_rising", label=topic_name(top, t), before=t.int(top["posts_prev"]),
                         after=t.int(top["posts"]))))
    if topics["falling"]:
        low = topics["falling"][0]
        out.append((5, t("h_falling", label=topic_name(low, t), before=t.int(low["posts_prev"]),
                         after=t.int(low["posts"]))))
    if (totals["complaints"] or totals["complaints_prev"]) and totals["voices"]:
        previous = totals["complaints_prev"] / totals["voices_prev"] if totals["voices_prev"] else None
        out.append((3, t("h_complaints", share=t.pct(totals["complaints"] / totals["voices"], 0),
                         previous=t.pct(previous, 0) if previous is not None else "–",
                         wish_share=t.pct(totals["wishes"] / totals["voices"], 0))))
    if data["follow_up_count"]:
        out.append((6, t("h_follow_ups", count=t.int(data["follow_up_count"]))))
    keep = sorted(range(len(out)), key=lambda i: out[i][0])[:MAX_SENTENCES]
    return [out[i][1] for i in sorted(keep)]
