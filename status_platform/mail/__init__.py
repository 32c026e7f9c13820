"""Outgoing mail, and the local mail catcher of `statusplatform run`."""
