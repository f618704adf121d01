"""Notifications: the in-app list, outgoing signed webhooks and e-mail, each delivered exactly once per event."""
