"""Subscribers, the notification outbox and deliveries."""
