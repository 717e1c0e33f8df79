"""Suppression: the addresses a tenant's mail is never sent to, why, and the soft-bounce policy."""
