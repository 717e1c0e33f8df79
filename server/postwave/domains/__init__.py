"""Sending domains: DKIM keys encrypted at rest, the DNS records to publish, verification
against DNS, key rotation, the acceptance rule for From domains, and signing with a domain's
active selectors. See docs/deliverability.md."""
