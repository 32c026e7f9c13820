"""The people of an organization: members with roles, invitations, and ownership."""
