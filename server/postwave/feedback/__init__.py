"""Feedback loops: signed VERP return paths, and ``postwave feedback``, the SMTP receiver
that turns delivery status notifications (RFC 3464) and abuse reports (ARF, RFC 5965) into
``bounced`` and ``complained`` events and suppressions. See docs/deliverability.md."""
