"""JSON API routes under /api/v1 plus health probes."""
