"""The platform kernel: configuration, database, tenancy, identity, jobs and egress."""
