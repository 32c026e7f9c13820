"""Management API keys of an organization: made and revoked by its admins."""
