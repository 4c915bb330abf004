"""Delivering warnings and escalations: channels (email, webhooks), routing, and a reliable outbox."""
