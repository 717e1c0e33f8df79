"""Engagement tracking: signed click and open URLs (link wrapping) and their verification.

* :mod:`postwave.tracking.linkwrap` -- ``wrap_html``, ``wrap_text``, ``sign_token``,
  ``verify_token`` (compiled twin: ``native/linkwrap.pyx``, chosen in :mod:`postwave.native`).
"""
