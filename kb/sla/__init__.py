"""Service-level agreements: business calendars, due times, clocks, warnings and escalation."""
