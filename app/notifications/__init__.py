"""Emails: the outbox (audit events) delivered through the table's stream, and payment reminders."""
