-- How sure enrichment is of each post's labels, so analysts can leave out the doubtful ones
-- (e.g. WHERE sentiment_confidence >= 0.6). Each is the probability the classifier gave the label it chose:
-- between 1/3 and 1 for sentiment (three classes), between 1/5 and 1 for intent (five); NULL where no
-- classifier ran (not enriched yet, a deleted post, a language other than da/de/en, or the lexicon scorer).
ALTER TABLE core.posts ADD COLUMN sentiment_confidence DOUBLE;
ALTER TABLE core.posts ADD COLUMN intent_confidence DOUBLE;
