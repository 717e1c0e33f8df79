"""Mail transfer: MX resolution, pooled SMTP delivery, and reply classification.

``mx`` turns a recipient domain into ordered :class:`Target` addresses, ``client``
delivers a message over pooled connections to the first target that takes it
(``session`` is one SMTP session), and ``classify`` says what the receiving server's
reply means.
"""

from postwave.mta.classify import Classification, Outcome, classify
from postwave.mta.client import DeliveryPool, SMTPReply
from postwave.mta.mx import MXResolver, Target, site_of

__all__ = [
    "Classification",
    "DeliveryPool",
    "MXResolver",
    "Outcome",
    "SMTPReply",
    "Target",
    "classify",
    "site_of",
]
