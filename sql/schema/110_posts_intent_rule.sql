-- Which labelling rule chose a post's intent over the classifier: the override's name ('request', 'sarcasm',
-- 'fix_request', 'grievance_question', 'repeated_failure', 'own_failure', ...; pipelines.enrich.intent.OVERRIDES),
-- 'rules' when the rules alone label (the lexicon mode), NULL when the classifier chose or the post is not
-- enriched. intent_confidence stays the classifier's probability of the intent given, so a rule-chosen intent can
-- have a confidence below 1/5 (040 said between 1/5 and 1: true only of the classifier's own choices). Posts
-- enriched before this column existed have NULL here until `listen enrich --relabel`.
ALTER TABLE core.posts ADD COLUMN intent_rule VARCHAR;
