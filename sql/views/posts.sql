-- posts: one row per post, comment or review (quarantined rows excluded).
-- Grain: post_id ('<source>:<native id>', stable across runs).
-- Columns: post_id, channel (reddit/feed/appstore/import/mastodon/bluesky/discourse), source, community,
--   kind (post/comment/review), thread_id, parent_id, url (public permalink), author_key (pseudonym, never the
--   handle), created_at, fetched_at, title, body (personal data redacted), rating, lang (ISO 639-1 or 'und';
--   NULL = not enriched yet),
--   sentiment [-1, 1] (P(positive) - P(negative) from the sentiment classifier), sentiment_label,
--   intent (wish/complaint/question/praise/other), sentiment_confidence and intent_confidence (the probability
--   of the chosen label; NULL where no classifier ran, i.e. other languages - a post in emoji only is 'und' but
--   scored; filter doubtful labels with e.g. >= 0.6), intent_rule (the labelling rule that chose the intent over
--   the classifier, e.g. 'request', 'sarcasm' or 'fixed_failure' (a reported fix, no complaint); 'rules' in the
--   lexicon mode; NULL when the classifier chose: a
--   rule's intent keeps the classifier's probability as its confidence, which can be low, so keep rule-chosen rows
--   with `intent_confidence >= 0.6 OR intent_rule IS NOT NULL`), topic_id (NULL or -1 =
--   unassigned), is_regular (author seen on an earlier day, across channels), plus is_deleted,
--   duplicate_of (near-duplicate of an earlier post) and created_at_estimated (source gave no date).
-- Example: SELECT channel, intent, count(*) FROM posts WHERE created_at > now() - INTERVAL 7 DAY GROUP BY ALL;
--          SELECT sentiment_label, count(*) FROM posts WHERE sentiment_confidence >= 0.6 GROUP BY ALL;
CREATE OR REPLACE VIEW posts AS
SELECT
    p.post_id, p.channel, p.source, p.community, p.kind, p.thread_id, p.parent_id, p.url, p.author_key,
    p.created_at, p.fetched_at, p.title, p.body, p.rating, p.lang, p.sentiment, p.sentiment_label, p.intent,
    p.topic_id,
    coalesce(p.author_key IS NOT NULL
             AND CAST(p.created_at AS DATE) > min(CAST(p.created_at AS DATE)) OVER (PARTITION BY p.author_key),
             false) AS is_regular,
    p.is_deleted, p.duplicate_of, p.created_at_estimated, p.sentiment_confidence, p.intent_confidence,
    p.intent_rule
FROM core.posts p
WHERE NOT EXISTS (SELECT 1 FROM core.quarantine q WHERE q.post_id = p.post_id);
