"""Database: the declarative base, engines, tenant-bound sessions and row-level security."""
