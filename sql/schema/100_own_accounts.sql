-- The organisation's own accounts ([follow_ups] own_accounts in listen.toml), as keyed pseudonyms like
-- core.posts.author_key, never as handles: their posts (release notes, the team's own replies) are no customer
-- voice and never enter the follow-up queue. Rewritten from the configuration on every load.
CREATE TABLE core.own_accounts (author_key VARCHAR PRIMARY KEY);
