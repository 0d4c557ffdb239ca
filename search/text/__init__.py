"""Text analysis: the languages kbsearch analyses, the Whoosh schema and its analyzers,
snippets and highlighting, spelling suggestions and synonyms."""
