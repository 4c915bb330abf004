"""The tamper-evident audit trail: every change and every read of an incident record or export."""
