"""Identity: staff users, passwords, roles and management API keys."""
