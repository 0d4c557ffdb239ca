"""From what a user typed to a Whoosh query: its language, parsing, typos, synonyms, filters,
and pseudo-relevance feedback."""
