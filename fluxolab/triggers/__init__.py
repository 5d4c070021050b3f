"""What webhooks, forms and schedules share: public tokens, and syncing triggers with workflows."""
