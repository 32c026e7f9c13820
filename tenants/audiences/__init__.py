"""Audiences (private clients) and their viewers."""
