-- The text of a post, defined once: what enrichment analyses and embeds and what topics are fitted on.
-- Title and body, a blank line between, each trimmed; the body is left out when it only repeats the title (a link
-- post carries its title as body) and empty parts are skipped; '' when there is no text at all (a deleted post).
-- Example: SELECT core.post_text(title, body) FROM core.posts LIMIT 3;
CREATE OR REPLACE MACRO core.post_text(title, body) AS
    concat_ws(E'\n\n', nullif(trim(title), ''),
              CASE WHEN trim(body) = trim(title) THEN NULL ELSE nullif(trim(body), '') END);
