"""The knowledge base: which files are pages and how each is read (sources, site generators,
documents), the indexer, the open index that searches, and the health check and export."""
