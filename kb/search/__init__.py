"""Search over articles: the index outbox, the single index writer, permission-aware search."""
