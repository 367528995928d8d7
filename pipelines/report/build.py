"""Turn the report's numbers into what the templates show: sentences, tables, charts and quote cards.

    >>> view = build_view(data, Strings("de"), window, source="warehouse", measured=[])
    >>> view["tables"]["channels"].rows[0]["posts"], view["headlines"][0]
    (812, '1.204 Beiträge in den letzten 7 Tagen (plus 18 % gegenüber den 7 Tagen davor).')

The same `Table` objects feed the HTML page, the Markdown file and the CSV extracts.
"""

from __future__ import annotations

from pipelines.report import charts
from pipelines.report.headlines import headlines, topic_name
from pipelines.report.i18n import Strings
from pipelines.report.replies import suggested_reply
from pipelines.report.safety import safe_url
from pipelines.report.tables import Column, Table


def _quote_cards(quotes: list[dict]) -> list[dict]:
    return [{"text": q["text"], "url": safe_url(q.get("url")), "where": q.get("community") or q.get("channel"),
             "created_at": q.get("created_at")} for q in quotes]


def _topic_rows(items: list[dict], t: Strings) -> list[dict]:
    return [{**row, "label": topic_name(row, t), "quotes": _quote_cards(row.get("quotes", []))} for row in items]


def _topic_table(name: str, items: list[dict], t: Strings) -> Table:
    return Table(name, [
        Column("topic_id", t("col_topic_id"), "int"),
        Column("label", t("col_topic")),
        Column("score", t("col_score"), "score"),
        Column("posts", t("col_posts"), "int"),
        Column("posts_prev", t("col_posts_prev"), "int"),
        Column("sentiment", t("col_sentiment"), "signed"),
        Column("sentiment_prev", t("col_sentiment_prev"), "signed"),
        Column("channels", t("col_channels"), "list"),
        Column("keywords", t("col_keywords"), "list"),
    ], items)


def _intent_table(name: str, groups: list[dict], t: Strings) -> Table:
    return Table(name, [
        Column("topic_id", t("col_topic_id"), "int"),
        Column("label", t("col_topic")),
        Column("posts", t("col_posts"), "int"),
        Column("posts_prev", t("col_posts_prev"), "int"),
        Column("sentiment", t("col_sentiment"), "signed"),
    ], [{**g, "label": topic_name(g, t), "quotes": _quote_cards(g.get("quotes", []))} for g in groups])


def _alert_rows(found: list[dict], t: Strings) -> list[dict]:
    """Each alert in the report's language, with where it was sent and its example posts as quote cards."""
    from pipelines.alerts.messages import describe, title

    out = []
    for a in found:
        if a["sent_to"]:
            sent = t("alert_sent_to", names=", ".join(a["sent_to"]))
        elif a["send_errors"]:
            sent = t("alert_not_sent", errors="; ".join(a["send_errors"]))
        else:
            sent = t("alert_no_destination")
        out.append({"raised_at": a["raised_at"], "day": a["day"], "alert": title(a, t), "message": describe(a, t),
                    "score": a["score"], "sent": sent, "kind": a["kind"],
                    "quotes": [{"text": e["text"], "url": safe_url(e.get("url")), "where": e["post_id"],
                                "created_at": None} for e in a.get("examples", [])]})
    return out


# Topic-model metrics shown in the Method section, with how each is formatted; others are left out (they are in
# core.topic_models.metrics for whoever wants them).
MODEL_METRICS = {"documents": "int", "topics": "int", "unassigned_share": "pct", "fit_seconds": "seconds"}


def _metric_value(value, kind: str, t: Strings) -> str:
    if kind == "pct":
        return t.pct(value)
    if kind == "seconds":
        return t("seconds", value=t.num(value, 1))
    return t.int(value)


def topic_method_text(model: dict, t: Strings) -> str:
    """The topic model's method, from the parameters the fit recorded (core.topic_models.params["method"])."""
    run = (model.get("params") or {}).get("method") or {}
    if not run:  # a model fitted before the fit recorded what it ran: say only what is known
        return t("m_topics_value", bertopic="?", version=model["model_version"], fitted=t.date(model["fitted_at"]),
                 documents=t.int(model["documents"]), embedding="", clustering="", outliers="", words="",
                 continued="")
    langs = run.get("centred_languages") or []
    centring = "m_topics_embedding_offsets" if run.get("language_centring") == "shipped offsets" else "m_topics_embedding"
    embedding = (t(centring, embedding=run["embedding"], langs=", ".join(langs)) if langs
                 else t("m_topics_embedding_one", embedding=run["embedding"]))
    merge_source = (t("m_merge_auto", words=t.int(run["median_words"])) if run.get("median_words") is not None
                    else t("m_merge_configured"))
    clustering = t("m_topics_clustering", fine=t.int(run["fine_clusters"]), pca=run["pca_components"],
                   merge_at=t.num(run["merge_at"], 2), merge_source=merge_source, min_size=t.int(run["min_topic_size"]),
                   size_source=t("m_size_configured" if run["min_topic_size_source"] == "configured" else "m_size_auto"))
    outliers = (t("m_topics_outliers", quantile=t.pct(run["outlier_quantile"], 0)) if run["outliers"]
                else t("m_topics_no_outliers"))
    continued = " " + t("m_topics_continued", n=t.int(run["previous_topics"])) if run.get("previous_topics") else ""
    followed = (run.get("vectorizer") or {}).get("followed_words")
    words = t("m_topics_words") + (" " + t("m_topics_followed", n=t.int(followed)) if followed else "")
    return t("m_topics_value", bertopic=run["bertopic"], version=model["model_version"],
             fitted=t.date(model["fitted_at"]), documents=t.int(model["documents"]), embedding=embedding,
             clustering=clustering, outliers=outliers, words=words, continued=continued)


def topic_state_text(state: dict, t: Strings) -> str:
    """Why there is no topic model yet: too few posts, or no topic among them (not a failure)."""
    if state.get("state") == "waiting":
        return t("m_topics_waiting", posts=t.int(state["posts"]), needed=t.int(state["needed"]))
    if state.get("state") == "no_topics":
        return t("m_topics_no_topics", posts=t.int(state["posts"]), min_size=t.int(state.get("min_topic_size") or 2))
    return t("m_topics_none")


def _method_rows(data: dict, t: Strings, window, measured: list[dict]) -> list[dict]:
    method = data["method"]
    items = [{"item": t("m_window"), "value": t("m_window_value", start=t.date(window.start), end=t.date(window.end),
                                                  days=window.days)},
             {"item": t("m_posts"), "value": t("m_posts_value")}]
    versions = method["enrich_versions"]
    if versions:
        items.append({"item": t("m_sentiment"), "value": t("m_sentiment_value", versions=", ".join(
            f"{v['version']} ({t.int(v['posts'])})" for v in versions))})
    else:
        items.append({"item": t("m_sentiment"), "value": t("m_sentiment_none")})
    model = method["topic_model"]
    if model:
        items.append({"item": t("m_topics"), "value": topic_method_text(model, t)})
        metrics = model.get("metrics") or {}
        for key, kind in MODEL_METRICS.items():
            value = metrics.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                items.append({"item": f"{t('m_model_metrics')}: {t('metric_' + key)}",
                              "value": _metric_value(value, kind, t)})
    else:
        items.append({"item": t("m_topics"), "value": topic_state_text(method.get("topic_state") or {}, t)})
    items.append({"item": t("m_scoring"), "value": t("m_scoring_topics")})
    for m in measured:
        task = t.get(f"m_quality_{m['task']}", m["task"])
        scores = " · ".join(f"{lang} {t.num(value, 3)}" for lang, value in m["values"].items())
        items.append({"item": f"{t('m_accuracy')}: {task}",
                      "value": f"{t.get('metric_' + m['metric'], m['metric'])}: {scores}"})
    items.append({"item": t("m_accuracy"), "value": t("m_accuracy_value" if measured else "m_accuracy_none")})
    return items


def build_view(data: dict, t: Strings, window, *, source: str, measured: list[dict]) -> dict:
    """Everything the templates need, in the report language."""
    totals = data["totals"]
    empty = not totals["posts"]
    tables: dict[str, Table] = {}
    chart: dict[str, object] = dict.fromkeys(["daily", "channels", "scores", "map", "regulars"])

    alerts = _alert_rows(data.get("alerts", []), t)
    tables["alerts"] = Table("alerts", [
        Column("raised_at", t("col_raised"), "datetime"), Column("alert", t("col_alert")),
        Column("message", t("col_value")), Column("score", t("col_score"), "score"), Column("sent", t("col_sent"))],
        alerts)

    tables["channels"] = Table("channels", [
        Column("channel", t("col_channel")),
        Column("posts", t("col_posts"), "int"),
        Column("posts_prev", t("col_posts_prev"), "int"),
        Column("sentiment", t("col_sentiment"), "signed"),
        Column("sentiment_prev", t("col_sentiment_prev"), "signed"),
        Column("negative_share", t("col_negative"), "pct"),
    ], data["channels"])
    if data["channels"]:
        names = [c["channel"] for c in data["channels"]]
        chart["channels"] = charts.grouped_bars(
            names, [(t("chart_this"), [c["posts"] for c in data["channels"]]),
                    (t("chart_prev"), [c["posts_prev"] for c in data["channels"]])],
            axis_label=t("col_posts"), fmt=t.int, title=t("chart_channels"))
        days = window.all_days()
        chart["daily"] = charts.line_chart(
            days, data["daily"], axis_label=t("chart_daily_axis"), title=t("chart_daily"), split_at=window.days,
            split_labels=(t("chart_prev"), t("chart_this")), day_fmt=lambda d: f"{d.day}/{d.month}")

    topics = data["topics"]
    rising, falling = _topic_rows(topics["rising"], t), _topic_rows(topics["falling"], t)
    tables["rising_topics"] = _topic_table("rising_topics", rising, t)
    tables["falling_topics"] = _topic_table("falling_topics", falling, t)
    movers = rising + list(reversed(falling))
    if movers:
        chart["scores"] = charts.diverging_bars(
            [m["label"] for m in movers], [m["score"] for m in movers], axis_label=t("chart_score_axis"),
            fmt=lambda v: t.num(v, 1, signed=True), title=t("chart_scores"))

    tmap = data["map"]
    map_rows = []
    for i, topic in enumerate(tmap["topics"]):
        for j, col in enumerate(tmap["columns"]):
            if not tmap["matrix"][i][j]:
                continue  # the heatmap shows the empty cells; the table lists only where a topic is discussed
            map_rows.append({"topic_id": topic["topic_id"], "label": topic_name(topic, t), "channel": col["channel"],
                             "community": col["community"], "share": tmap["matrix"][i][j]})
    tables["topic_channel_map"] = Table("topic_channel_map", [
        Column("topic_id", t("col_topic_id"), "int"), Column("label", t("col_topic")),
        Column("channel", t("col_channel")), Column("community", t("col_community")),
        Column("share", t("col_share"), "pct")], map_rows)
    if tmap["topics"] and tmap["columns"]:
        chart["map"] = charts.heatmap(
            [topic_name(tp, t) for tp in tmap["topics"]],
            [c["community"] if c["community"] == c["channel"] else f"{c['channel']} · {c['community']}"
             for c in tmap["columns"]],
            tmap["matrix"], fmt=lambda v: t.pct(v, 0), legend_label=t("chart_map_axis"), title=t("chart_map"))

    tables["wishes"] = _intent_table("wishes", data["intents"]["wish"], t)
    tables["complaints"] = _intent_table("complaints", data["intents"]["complaint"], t)

    follow = [{**f, "label": topic_name({"topic_id": f["topic_id"] if f["topic_id"] is not None else -1,
                                          "label": f["label"]}, t),
               "who": t("from_regular") if f["is_regular"] else t("from_newcomer"),
               "opening": suggested_reply(f, t), "url": safe_url(f["url"])} for f in data["follow_ups"]]
    tables["follow_ups"] = Table("follow_ups", [
        Column("created_at", t("col_when"), "date"),
        Column("channel", t("col_channel")),
        Column("community", t("col_community")),
        Column("intent", t("col_intent"), "intent"),
        Column("who", t("col_group")),
        Column("label", t("col_topic")),
        Column("excerpt", t("col_excerpt")),
        Column("opening", t("col_opening")),
        Column("url", t("col_link"), "url"),
        Column("post_id", "post_id"),
    ], follow)

    reg = data["regulars"]
    groups = [{**g, "group": t("regulars") if g["is_regular"] else t("newcomers")} for g in reg["groups"]]
    tables["regulars_newcomers"] = Table("regulars_newcomers", [
        Column("group", t("col_group")), Column("posts", t("col_posts"), "int"),
        Column("authors", t("col_authors"), "int"), Column("sentiment", t("col_sentiment"), "signed"),
        Column("sentiment_prev", t("col_sentiment_prev"), "signed"),
        Column("negative_share", t("col_negative"), "pct")], groups)
    tables["regulars_topics"] = Table("regulars_topics", [
        Column("topic_id", t("col_topic_id"), "int"), Column("label", t("col_topic")),
        Column("regular_share", t("col_regulars_share"), "pct"),
        Column("newcomer_share", t("col_newcomers_share"), "pct"),
        Column("difference", t("col_difference"), "pct_points")],
        [{**r, "label": topic_name(r, t)} for r in reg["topics"]])
    if any(g["sentiment"] is not None for g in groups):
        chart["regulars"] = charts.diverging_bars(
            [g["group"] for g in groups], [g["sentiment"] or 0 for g in groups],
            axis_label=t("chart_sentiment_axis"), fmt=lambda v: t.num(v, 2, signed=True), title=t("chart_regulars"))

    health = data["health"]
    tables["data_health"] = Table("data_health", [
        Column("source", t("col_source")), Column("last_success", t("col_last_success"), "datetime"),
        Column("runs", t("col_runs"), "int"), Column("fetched", t("col_fetched"), "int"),
        Column("errors", t("col_errors"), "int"), Column("quarantined", t("col_quarantined"), "int"),
        Column("posts", t("col_posts"), "int"), Column("unassigned_share", t("col_unassigned"), "pct"),
        Column("missing_days", t("col_missing_days"), "int"), Column("last_error", t("col_last_error"))],
        [{**s, "last_success": s["last_success"] or None} for s in health["sources"]])
    tables["language_mix"] = Table("language_mix", [
        Column("language", t("col_language")), Column("posts", t("col_posts"), "int"),
        Column("share", t("col_share"), "pct")],
        [{**lang, "language": lang["lang"] if lang["lang"] not in (None, "und")
          else t("lang_und" if lang["lang"] == "und" else "lang_pending")} for lang in health["languages"]])
    gaps = (t("gap_days", days=", ".join(t.date(d) for d in health["gaps"])) if health["gaps"]
            else t("no_gaps"))
    tables["warnings"] = Table("warnings", [
        Column("source", t("col_source")), Column("started_at", t("col_run_started"), "datetime"),
        Column("warning", t("col_warning"))], health["warnings"])
    warnings_note = (t("warnings_note", shown=t.int(len(health["warnings"])), count=t.int(health["warning_count"]),
                       days=window.days) if health["warning_count"] else t("no_warnings"))

    tables["actions"] = Table("actions", [
        Column("decided", t("col_decided"), "date"), Column("topic_id", t("col_topic_id"), "int"),
        Column("label", t("col_topic")), Column("text", t("col_action")), Column("owner", t("col_owner")),
        Column("per_day_before", t("col_per_day_before"), "num"),
        Column("per_day_after", t("col_per_day_after"), "num"),
        Column("days_after", t("col_days_after"), "int"),
        Column("sentiment_before", t("col_sentiment_prev"), "signed"),
        Column("sentiment_after", t("col_sentiment_after"), "signed")],
        [{**a, "label": topic_name(a, t) if a["label"] else f"#{a['topic_id']}"} for a in data["actions"]])

    tables["method"] = Table("method", [Column("item", t("col_item")), Column("value", t("col_value"))],
                             _method_rows(data, t, window, measured))

    return {
        "lang": t.lang,
        "t": t,
        "empty": empty,
        "window": window,
        "title": t("title"),
        "period": t("period", start=t.date(window.start), end=t.date(window.end), prev_start=t.date(window.prev_start),
                    prev_end=t.date(window.prev_end), days=window.days),
        "generated": t("generated", when=t.date(data["generated_at"]) + f" {data['generated_at']:%H:%M} UTC",
                       source=t("source_snapshot" if source == "snapshot" else "source_warehouse")),
        "headlines": headlines(data, t, window),
        "alerts": alerts,
        "tables": tables,
        "charts": chart,
        "rising": rising,
        "falling": falling,
        "comparable": topics["comparable"],
        "wishes": tables["wishes"].rows,
        "complaints": tables["complaints"].rows,
        "follow_ups": follow,
        "follow_up_count": data["follow_up_count"],
        "gaps": gaps,
        "warnings_note": warnings_note,
        "unassigned_share": health["unassigned_share"],
    }
