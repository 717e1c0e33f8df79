"""What delivery asks of tracking: whether to track a message, and its unsubscribe URL.

Tracking needs the operator to turn it on (``track_clicks`` / ``track_opens``) and, with
``tracking_requires_consent`` (the default), the recipient's consent: the
personalization's ``tracking_consent``, else the request's. Without consent the message
gets no pixel and no rewritten links -- nothing in it can tell whether it was read.
The unsubscribe link is not tracking: bulk mail always carries it; an unsubscribe from a
message that named an ``unsubscribe_group`` suppresses the address for that group only.
"""

from __future__ import annotations

from postwave.config import Config
from postwave.native import linkwrap
from postwave.pipeline.compose import Tracking
from postwave.store.base import MessageRecord
from postwave.tracking.keys import signing_key
from postwave.v1 import send_pb2

GRANTED = send_pb2.TRACKING_CONSENT_GRANTED
UNSPECIFIED = send_pb2.TRACKING_CONSENT_UNSPECIFIED


def consented(request: send_pb2.SendRequest, index: int) -> bool:
    """Whether the recipient of personalization ``index`` agreed to tracking."""
    given = request.personalizations[index].tracking_consent if index < len(request.personalizations) else UNSPECIFIED
    return (given if given != UNSPECIFIED else request.tracking_consent) == GRANTED


def tracking_for(config: Config, msg: MessageRecord, request: send_pb2.SendRequest,
                 base_url: str = "") -> Tracking | None:
    """The tracking of one message, or None for none; links go to ``base_url`` (the tenant's
    tracking host, see :mod:`postwave.tracking.domains`) or else ``tracking_base_url``."""
    if not (config.track_clicks or config.track_opens):
        return None
    if config.tracking_requires_consent and not consented(request, msg.index):
        return None
    key_id, secret = signing_key(config)
    return Tracking((base_url or config.tracking_base_url).rstrip("/"), secret, msg.message_id, config.track_clicks,
                    config.track_opens, key_id)


def unsubscribe_url(config: Config, message_id: str, base_url: str = "") -> str:
    """The List-Unsubscribe URL: a signed ``/u/<token>`` of the tracker (on ``base_url`` or
    else ``tracking_base_url``) when a tracking secret is configured (one-click capable), else
    the plain per-message URL."""
    base = (base_url or config.tracking_base_url).rstrip("/")
    if not config.tracking_secret:
        return f"{base}/unsubscribe/{message_id}"
    key_id, secret = signing_key(config)
    return f"{base}/u/{linkwrap.sign_token(secret, 'u', message_id, '', 0, key_id)}"


def suppression_address(recipient: str, group: str) -> str:
    """The suppression key of an unsubscribe: the address, or ``group:<name>:<address>`` when the
    message named an unsubscribe group (acceptance checks both for a request with a group)."""
    address = recipient.strip().lower()
    return f"group:{group}:{address}" if group else address

