-- Sources and communities the organisation listens to but does not answer in ([follow_ups] listen_only in
-- listen.toml: a source name such as "reddit-askreddit", or a community as posts name it, such as "r/funny"),
-- lower-cased. Their posts count in topics, trends and the report, but never enter the follow-up queue: a
-- "can you tell us more?" from a brand is out of place in a general discussion forum. Rewritten from the
-- configuration on every load.
CREATE TABLE core.listen_only (name VARCHAR PRIMARY KEY);
