"""Signed webhook delivery to tenant endpoints (``postwave webhooks``).

* :mod:`postwave.webhooks.signing` -- the Standard Webhooks signature scheme;
* :mod:`postwave.webhooks.ssrf` -- refusing URLs that resolve to internal addresses;
* :mod:`postwave.webhooks.dispatcher` -- reading the event log per endpoint and POSTing
  batches, at least once, with retries;
* :mod:`postwave.webhooks.admin` -- the AdminService RPCs that manage endpoints.
"""
