"""Outbound workflow webhooks: subscriptions, the event outbox and delivery."""
