"""Uptime monitors and their check results."""
