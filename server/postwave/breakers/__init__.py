"""Tenant circuit breakers: bounce and complaint rates per tenant and stream over sliding
windows; slow down, pause the bulk stream, pause everything; resume by API (docs/shaping.md)."""
