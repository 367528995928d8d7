"""Alert wording in Danish, German and English, from an alert's stored fields (one function for the stored message,
the report, `listen status`, e-mails and webhooks), and the bodies each destination gets.

    >>> describe({"kind": "topic_volume", "label": "levering, pakke", "channel": "import", "community": "kundepanel",
    ...           "score": 6.3, "detail": {"posts_now": 24, "posts_before": 6, "ratio": 11.2, ...}}, Strings("en"))
    '“levering, pakke” on import · kundepanel: 24 posts in the last 2 days, 11.2 × its usual share of the channel (6
     posts in the 28 days before); score 6.3.'

The wording lives beside the report's (pipelines/report/i18n.py, keys alert_*). Text from the data (topic labels,
excerpts, errors) goes into Slack and Teams bodies escaped, so a post cannot mention @channel or inject markup.
"""

from __future__ import annotations

import datetime as dt

from pipelines.report.i18n import Strings
from pipelines.report.safety import safe_url
from pipelines.text import shorten

EXCERPT_CHARS = 160


def where(alert: dict) -> str:
    """'reddit · r/Denmark', or the channel alone."""
    channel, community = alert.get("channel") or "", alert.get("community") or ""
    return f"{channel} · {community}" if community and community != channel else channel


def _window(days: int, t: Strings) -> str:
    return t("alert_window_1") if days == 1 else t("alert_window_n", days=days)


def describe(alert: dict, t: Strings) -> str:
    """One sentence saying what moved, where, by how much against what, and the score."""
    detail = alert.get("detail") or {}
    kind = alert["kind"]
    if kind == "source_down":
        since = detail.get("since")
        return t("alert_source_down", source=alert.get("source") or "", days=t.int(detail.get("days", 0)),
                 since=t.date(dt.date.fromisoformat(since)) if since else "–",
                 error=shorten(detail.get("error") or t("alert_no_error"), 300))
    values = dict(label=alert.get("label") or f"#{alert.get('topic_id')}", where=where(alert),
                  recent=_window(detail.get("recent_days", 1), t), baseline=t.int(detail.get("baseline_days", 0)),
                  posts_now=t.int(detail.get("posts_now", 0)), posts_before=t.int(detail.get("posts_before", 0)),
                  score=t.num(alert.get("score") or 0, 1))
    if kind == "topic_volume":
        ratio = detail.get("ratio")
        return t("alert_topic_volume" if ratio else "alert_topic_volume_new", **values,
                 ratio=t.num(ratio or 0, 1))
    return t("alert_topic_negative_share", **values, share_now=t.pct(detail.get("share_now", 0), 0),
             share_before=t.pct(detail.get("share_before", 0), 0))


def title(alert: dict, t: Strings) -> str:
    """The kind and the subject: 'Topic volume: “levering, pakke”' / 'Source down: blog-comments'."""
    subject = alert.get("source") if alert["kind"] == "source_down" else f"“{alert.get('label') or alert.get('topic_id')}”"
    return f"{t('alert_kind_' + alert['kind'])}: {subject}"


def _examples(alert: dict) -> list[dict]:
    return [{"post_id": e["post_id"], "url": safe_url(e.get("url")), "excerpt": shorten(e.get("text"), EXCERPT_CHARS)}
            for e in alert.get("examples") or []]


def email_text(alerts: list[dict], t: Strings, report_path: str | None) -> tuple[str, str]:
    """(subject, plain-text body) of one e-mail listing `alerts`."""
    subject = t("alert_subject", count=t.int(len(alerts)), first=title(alerts[0], t))
    lines = [t("alert_intro", count=t.int(len(alerts))), ""]
    for alert in alerts:
        lines += [title(alert, t), describe(alert, t)]
        for example in _examples(alert):
            lines.append(f"  - {example['excerpt']}" + (f"\n    {example['url']}" if example["url"] else "")
                         + f"\n    ({example['post_id']})")
        lines.append("")
    if report_path:
        lines.append(t("alert_report", path=report_path))
    lines.append(t("alert_footer"))
    return subject, "\n".join(lines) + "\n"


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (&, <, >): escaped, so data cannot write <!channel> or a fake link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(alerts: list[dict], t: Strings, style: str, report_path: str | None) -> dict:
    """The JSON a webhook receives: Slack ({'text': mrkdwn}), Teams (an Adaptive Card message, as Teams
    workflows take) or plain JSON (every field, for your own receiver)."""
    if style == "json":
        return {"alerts": [{"alert_id": a["alert_id"], "kind": a["kind"], "title": title(a, t),
                            "message": describe(a, t), "raised_at": a["raised_at"].isoformat(),
                            "topic_id": a.get("topic_id"), "channel": a.get("channel"),
                            "community": a.get("community"), "source": a.get("source"), "score": a.get("score"),
                            "examples": _examples(a)} for a in alerts],
                "report": report_path}
    if style == "slack":
        lines = [f"*{_slack_escape(t('alert_intro', count=t.int(len(alerts))))}*"]
        for alert in alerts:
            lines.append(f"• *{_slack_escape(title(alert, t))}* {_slack_escape(describe(alert, t))}")
            for example in _examples(alert):
                text = _slack_escape(example["excerpt"] or example["post_id"])
                lines.append(f"    ◦ <{example['url']}|{text}>" if example["url"] else f"    ◦ {text}")
        if report_path:
            lines.append(_slack_escape(t("alert_report", path=report_path)))
        return {"text": "\n".join(lines)}
    body = [{"type": "TextBlock", "text": t("alert_intro", count=t.int(len(alerts))), "weight": "Bolder",
             "size": "Medium", "wrap": True}]
    for alert in alerts:
        body.append({"type": "TextBlock", "text": title(alert, t), "weight": "Bolder", "wrap": True,
                     "spacing": "Medium"})
        body.append({"type": "TextBlock", "text": describe(alert, t), "wrap": True})
        for example in _examples(alert):
            body.append({"type": "TextBlock", "text": example["excerpt"] or example["post_id"], "wrap": True,
                         "isSubtle": True})
    actions = [{"type": "Action.OpenUrl", "title": shorten(e["excerpt"] or e["post_id"], 40), "url": e["url"]}
               for a in alerts for e in _examples(a) if e["url"]][:6]
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body, **({"actions": actions} if actions else {})}
    return {"type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}
