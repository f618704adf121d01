"""Tickets wired to the knowledge base: lifecycle, events, suggestions, drafts from resolved tickets."""
