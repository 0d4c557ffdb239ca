"""The search engine under kbsearch: its on-disk format (a Whoosh codec with split posting
blocks), the writers' posting pool, the index folder's generations, and ranking (BM25F, top k,
phrases). Knows nothing of documents, languages or the schema's field names: the fields' roles
come in through `bm25f.FieldRoles`."""
