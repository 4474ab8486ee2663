"""Signed webhooks: endpoints per merchant, events from a transactional outbox, deliveries and attempts."""
