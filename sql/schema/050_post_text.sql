-- The text of a post, defined once: what enrichment analyses and embeds and what topics are fitted on.
-- Title and body, a blank line between, each without surrounding whitespace (spaces, tabs, line breaks, no-break
-- and zero-width spaces); the body is left out when it only repeats the title (a link post carries its title as
-- body) and empty parts are skipped; '' when there is no text at all (a deleted post).
-- Example: SELECT core.post_text(title, body) FROM core.posts LIMIT 3;
CREATE OR REPLACE MACRO core.text_or_null(value) AS nullif(trim(value, E' \t\r\n' || chr(160) || chr(8203)), '');
CREATE OR REPLACE MACRO core.post_text(title, body) AS
    concat_ws(E'\n\n', core.text_or_null(title),
              CASE WHEN core.text_or_null(body) = core.text_or_null(title) THEN NULL ELSE core.text_or_null(body) END);
