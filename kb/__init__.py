"""The knowledge-base domain: articles, auth, search; the only layer that changes state."""
