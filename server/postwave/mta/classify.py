"""Classify a receiving server's SMTP reply into a delivery outcome.

The first digit of the reply code decides the outcome (2xx delivered, 4xx deferred, 5xx
bounced). What the rest of the pipeline does about it -- suppress the address, count a
reputation hit, slow down toward the site -- depends on *why* the server refused, which is
read from the RFC 3463 enhanced status code at the start of the text when there is one, and
from well-known reply wordings when there is not.

The rules, in order of precedence:

* ``policy`` -- a refusal aimed at us, not at the recipient: enhanced subject ``X.7.*``
  (security/policy), or policy wording (blocklists, spam, reputation, DMARC...). A policy
  refusal never suppresses the address.
* ``suppress`` -- only a bounced (5xx) reply that blames the recipient's address: enhanced
  codes ``X.1.0-3``, ``X.1.6``, ``X.1.10`` and ``X.2.1``, or recipient wording ("user
  unknown", "mailbox unavailable"...) when the enhanced code is missing or generic. Without
  an enhanced code the basic code must also be one that servers use for a bad address
  (550, 551, 553, and 552/554 which Yahoo/AOL use for "mailbox not found").
  A full mailbox (``X.2.2``, "over quota") is never the address's permanent fault.
* ``throttle`` -- a deferral (4xx) asking us to slow down: every 421, enhanced ``X.7.28``,
  ``X.4.5``, ``X.5.3``, ``X.3.2``, or rate/volume/busy wording. A bounce is final, so it
  never throttles.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["Classification", "Outcome", "classify"]


class Outcome(enum.Enum):
    """What became of the message after this reply."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"


@dataclass(frozen=True, slots=True)
class Classification:
    """The meaning of one SMTP reply for delivery, suppression and shaping.

    Attributes:
        outcome: delivered, deferred (retry later) or bounced (give up).
        suppress: the recipient address itself is bad; add it to the suppression list.
        policy: the server refused us (IP, domain or content), not the recipient.
        throttle: the server asks us to slow down toward its site.
        enhanced: the RFC 3463 enhanced status code from the text, e.g. ``"5.1.1"``.
    """

    outcome: Outcome
    suppress: bool
    policy: bool
    throttle: bool
    enhanced: str | None


# "5.1.1" at the start of the text (optionally after a repeated basic code, as some
# servers and log formats put it); a code must not run on into more digits.
_ENHANCED_RE = re.compile(r"^\s*(?:\d{3}[ -])?\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")

# (subject, detail) pairs that put the fault on the recipient's address (RFC 3463 §3.2,
# §3.3; X.1.10 is RFC 7505's null MX).
_RECIPIENT_CODES = frozenset({(1, 0), (1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)})

# Enhanced codes too generic to decide anything; the text decides instead. X.4.x is here
# because Microsoft answers unknown recipients with "5.4.1 Recipient address rejected".
_GENERIC_SUBJECTS = frozenset({0, 4})
_GENERIC_CODES = frozenset({(2, 0), (5, 0)})

_THROTTLE_CODES = frozenset({(7, 28), (4, 5), (5, 3), (3, 2)})

# Basic codes that servers without enhanced codes use for a bad recipient address.
_RECIPIENT_BASIC_CODES = frozenset({550, 551, 552, 553, 554})

_POLICY_RE = re.compile(
    r"block(?:ed|list|listed|ing)?\b|black\s?list|deny\s?list|\bspam|spamhaus|reputation"
    r"|\bpolic(?:y|ies)\b|\b(?:rbl|dnsbl|dnsrbl)s?\b|unsolicited|\bdmarc\b|\bspf\b"
    r"|\bdkim\b|unauthenticated|not authorized to send|banned|prohibited|junk",
    re.IGNORECASE,
)

_RECIPIENT_RE = re.compile(
    r"user unknown|unknown user|no such (?:user|recipient|mailbox|account|address)"
    r"|mailbox (?:unavailable|not found|does not exist|disabled|inactive|is inactive)"
    r"|(?:recipient|user|address|account|mailbox) (?:not found|does not exist|doesn'?t exist)"
    r"|does not exist|doesn'?t exist|doesn'?t have an? [\w.-]+ account"
    r"|recipient address rejected|invalid (?:recipient|mailbox|address)|unknown recipient"
    r"|not a valid (?:mailbox|recipient|user)|unrout(?:e)?able address"
    r"|account (?:has been )?(?:disabled|deactivated|closed|suspended)"
    r"|(?:is|been) (?:disabled|deactivated)|no mailbox|addressee unknown"
    r"|unknown (?:local part|address|mailbox)|undeliverable address|user not local",
    re.IGNORECASE,
)

# Wording that means "the recipient exists but cannot take mail now" or "it is about the
# sender", which must win over the recipient wording above.
_NOT_RECIPIENT_RE = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:storage|quota)"
    r"|insufficient (?:storage|space)|out of storage|storage (?:full|exceeded)"
    r"|sender address rejected|sender (?:domain|address) (?:unknown|not found)",
    re.IGNORECASE,
)

_THROTTLE_RE = re.compile(
    r"\brate\b|\brates\b|throttl|too many|volume|\bbusy\b|congest|slow down|frequency"
    r"|too quickly|rate.limit|connection limit|limit exceeded",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Enhanced:
    """A parsed RFC 3463 code, kept as numbers for the rule tables."""

    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"

    @property
    def pair(self) -> tuple[int, int]:
        return (self.subject, self.detail)

    @property
    def generic(self) -> bool:
        """Too vague to decide on (X.0.x, X.4.x, X.2.0, X.5.0): let the text decide."""
        return self.subject in _GENERIC_SUBJECTS or self.pair in _GENERIC_CODES


def classify(code: int, text: str) -> Classification:
    """Classify an SMTP reply (basic ``code`` and reply ``text``) for delivery.

    Never raises: any code outside 200-599 (or a 1xx/3xx where a final reply was due) is
    treated as deferred, since retrying is the safe answer to a reply we do not understand.
    """
    enhanced = _parse_enhanced(text)
    outcome = _outcome(code)
    if outcome is Outcome.DELIVERED:
        return Classification(outcome, False, False, False, _text(enhanced))
    policy = _is_policy(enhanced, text)
    bounced = outcome is Outcome.BOUNCED
    suppress = bounced and not policy and _is_recipient_fault(code, enhanced, text)
    throttle = outcome is Outcome.DEFERRED and _is_throttle(code, enhanced, text)
    return Classification(outcome, suppress, policy, throttle, _text(enhanced))


def _parse_enhanced(text: str) -> _Enhanced | None:
    match = _ENHANCED_RE.match(text)
    if match is None:
        return None
    klass, subject, detail = (int(group) for group in match.groups())
    return _Enhanced(klass, subject, detail)


def _text(enhanced: _Enhanced | None) -> str | None:
    return None if enhanced is None else str(enhanced)


def _outcome(code: int) -> Outcome:
    if 200 <= code < 300:
        return Outcome.DELIVERED
    if 500 <= code < 600:
        return Outcome.BOUNCED
    return Outcome.DEFERRED


def _is_policy(enhanced: _Enhanced | None, text: str) -> bool:
    if enhanced is not None and enhanced.subject == 7:
        return True
    if enhanced is not None and not enhanced.generic:
        # A specific non-policy code (5.1.1, 5.2.2...) is trusted over stray words:
        # "5.1.1 user unknown; see our policy page" is still a bad address.
        return False
    return _POLICY_RE.search(text) is not None


def _is_recipient_fault(code: int, enhanced: _Enhanced | None, text: str) -> bool:
    if enhanced is not None and not enhanced.generic:
        if enhanced.pair == (1, 0) and _NOT_RECIPIENT_RE.search(text) is not None:
            # X.1.0 is "other address status": Postfix uses it for the *sender* too.
            return False
        return enhanced.pair in _RECIPIENT_CODES
    if _NOT_RECIPIENT_RE.search(text) is not None:
        return False
    if enhanced is None and code not in _RECIPIENT_BASIC_CODES:
        return False
    return _RECIPIENT_RE.search(text) is not None


def _is_throttle(code: int, enhanced: _Enhanced | None, text: str) -> bool:
    if code == 421:
        return True
    if enhanced is not None and enhanced.pair in _THROTTLE_CODES:
        return True
    if enhanced is not None and enhanced.subject == 1:
        # Address replies never mean "slow down", whatever words they use.
        return False
    return _THROTTLE_RE.search(text) is not None
