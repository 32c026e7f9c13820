"""Incidents, their updates, incident types and templates."""
