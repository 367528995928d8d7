-- follow_ups: the queue of posts worth answering in their own thread ("you wrote X, can you tell us more?").
-- Grain: one row per post still waiting for an answer. A post qualifies when it is
--   * a customer's own voice: a comment or review on any channel, a post on Reddit, Mastodon, Bluesky or a
--     Discourse forum, or imported feedback - never an article of a news or company feed (channel 'feed',
--     kind 'post'), and not written by one of the organisation's own accounts ([follow_ups] own_accounts,
--     stored as pseudonyms in core.own_accounts: release notes, the team's own replies), and not from a source
--     or community the organisation only listens to ([follow_ups] listen_only, in core.listen_only, matched
--     without regard to case: a general subreddit such as r/AskReddit),
--   * recent: written in the last 30 days (now() at query time),
--   * substantive: title and body at least 80 characters (counted once when the body repeats the title),
--   * a wish, complaint or question (enrichment's intent),
--   * answerable in the open: it has an http(s) permalink, is not deleted and not a near-duplicate,
--   * not answered yet: absent from core.follow_up_done (`listen follow-up done POST_ID`).
-- Columns: post_id, url (public permalink), channel, community, intent (wish/complaint/question), topic_id
--   (NULL or -1 = unassigned), excerpt (redacted title and body, at most 280 characters), created_at,
--   reason (why it is in the queue, in English), plus is_regular (author seen on an earlier day) and lang.
-- Order: regulars first, then newest first (ORDER BY is_regular DESC, created_at DESC for a stable order).
-- Example: SELECT url, excerpt FROM follow_ups WHERE channel = 'reddit' AND intent = 'complaint'
--          ORDER BY is_regular DESC, created_at DESC LIMIT 10;
CREATE OR REPLACE VIEW follow_ups AS
WITH candidates AS (
    SELECT
        p.post_id, p.url, p.channel, p.community, p.intent, p.topic_id, p.created_at, p.is_regular, p.lang,
        -- title and body, but once when one repeats the other (link posts carry their title as body)
        trim(regexp_replace(CASE WHEN p.title IS NULL OR p.body IS NULL THEN coalesce(p.body, p.title)
                                 WHEN starts_with(p.body, p.title) THEN p.body
                                 WHEN starts_with(p.title, p.body) THEN p.title
                                 ELSE p.title || ' ' || p.body END, '\s+', ' ', 'g')) AS text
    FROM posts p
    WHERE p.intent IN ('wish', 'complaint', 'question')
      AND NOT (p.channel = 'feed' AND p.kind = 'post')
      AND (p.author_key IS NULL OR p.author_key NOT IN (SELECT author_key FROM core.own_accounts))
      AND lower(p.source) NOT IN (SELECT name FROM core.listen_only)
      AND lower(coalesce(p.community, '')) NOT IN (SELECT name FROM core.listen_only)
      AND NOT p.is_deleted
      AND p.duplicate_of IS NULL
      AND regexp_matches(p.url, '^https?://[^\s]+$')
      AND p.created_at >= now() - INTERVAL 30 DAY
      AND NOT EXISTS (SELECT 1 FROM core.follow_up_done d WHERE d.post_id = p.post_id)
)
SELECT
    post_id, url, channel, community, intent, topic_id,
    CASE WHEN length(text) <= 280 THEN text ELSE left(text, 279) || '…' END AS excerpt,
    created_at,
    concat(intent, CASE WHEN is_regular THEN ' from a regular' ELSE ' from a newcomer' END,
           ' in ', coalesce(community, channel), ', ', length(text), ' characters') AS reason,
    is_regular, lang
FROM candidates
WHERE length(text) >= 80
ORDER BY is_regular DESC, created_at DESC;
