"""Tenancy: organizations, memberships, page routes, and resolving a request to its tenant."""
