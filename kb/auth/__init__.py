"""API tokens, roles, permissions and the audit log."""
