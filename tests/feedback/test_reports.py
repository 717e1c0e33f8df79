"""DSNs, plain bounces and ARF reports over real SMTP -> the right events and suppressions."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.feedback import samples
from tests.feedback.conftest import RETURN_PATH_DOMAIN, FeedbackWorld, Sent, custom_args


def _types(world: FeedbackWorld, sent: Sent) -> list[str]:
    return [e.type for e in world.events(sent.message_id)]


def _detail(world: FeedbackWorld, sent: Sent, kind: str) -> str:
    (event,) = [e for e in world.events(sent.message_id) if e.type == kind]
    return event.detail


HARD_BOUNCES: dict[str, Callable[[Sent], tuple[bytes, str]]] = {
    # (message, envelope recipient): each names its message in a different way.
    "dsn with original, to VERP": lambda s: (samples.dsn(
        to=s.return_path, recipient=s.recipient,
        orig=samples.original(message_id=s.message_id, return_path=s.return_path, to=s.recipient)), s.return_path),
    "dsn with headers only, to VERP": lambda s: (samples.dsn(
        to=s.return_path, recipient=s.recipient, returned="headers",
        orig=samples.original(message_id=s.message_id, return_path=s.return_path, to=s.recipient)), s.return_path),
    "dsn without original, to VERP": lambda s: (samples.dsn(
        to=s.return_path, recipient=s.recipient, returned="none"), s.return_path),
    "dsn to postmaster, matched by Message-ID": lambda s: (samples.dsn(
        to="postmaster@acme.test", recipient=s.recipient, returned="headers",
        orig=samples.original(message_id=s.message_id, return_path="news@acme.test", to=s.recipient)),
        "postmaster@" + RETURN_PATH_DOMAIN),
    "dsn to postmaster, matched by the original's VERP Return-Path": lambda s: (samples.dsn(
        to="postmaster@acme.test", recipient=s.recipient, returned="message",
        orig=samples.original(message_id="other@elsewhere.test", return_path=s.return_path, to=s.recipient)),
        "postmaster@" + RETURN_PATH_DOMAIN),
    "qmail plain-text bounce": lambda s: (samples.qmail_bounce(
        to=s.return_path, recipient=s.recipient,
        orig=samples.original(message_id=s.message_id, return_path=s.return_path, to=s.recipient)), s.return_path),
    "exim plain-text bounce": lambda s: (samples.exim_bounce(
        to=s.return_path, recipient=s.recipient,
        orig=samples.original(message_id=s.message_id, return_path=s.return_path, to=s.recipient)), s.return_path),
}


def test_hard_bounces_in_every_shape_bounce_and_suppress(feedback: FeedbackWorld) -> None:
    sent = feedback.sent(len(HARD_BOUNCES), prefix="hard")
    for (name, build), s in zip(HARD_BOUNCES.items(), sent):
        raw, rcpt = build(s)
        code, reply = feedback.deliver(raw, rcpt)
        assert code == 250, (name, reply)
        assert f"bounce of message {s.message_id}" in reply, (name, reply)
    for (name, _), s in zip(HARD_BOUNCES.items(), sent):
        assert _types(feedback, s) == ["bounced", "suppressed"], name
        detail = _detail(feedback, s, "bounced")
        assert detail.startswith("hard bounce 5.1.1"), (name, detail)
        # The diagnostic travels with the event: the receiving server's reply where the bounce quotes it.
        assert ("no mailbox here" if name.startswith("qmail") else "550 5.1.1") in detail, (name, detail)
        assert feedback.suppressed(s.recipient) is not None and "5.1.1" in feedback.suppressed(s.recipient), name
        entry = feedback.store.get_suppression(feedback.tenant_id, s.recipient, time.time())
        assert (entry.source, entry.message_id, entry.expires) == ("bounced", s.message_id, None), name
        bounced = next(e for e in feedback.events(s.message_id) if e.type == "bounced")
        assert custom_args(bounced) == {"campaign": "autumn"} and bounced.recipient == s.recipient


def test_soft_and_policy_bounces_do_not_suppress(feedback: FeedbackWorld) -> None:
    delayed, full, blocked, warned = feedback.sent(4, prefix="soft")
    cases = [
        (delayed, samples.dsn(to=delayed.return_path, recipient=delayed.recipient, action="delayed", status="4.4.7",
                              diagnostic="smtp; 451 4.4.7 Message delayed", returned="none"), "soft bounce 4.4.7"),
        (full, samples.dsn(to=full.return_path, recipient=full.recipient, status="5.2.2",
                           diagnostic="smtp; 552 5.2.2 Mailbox full", returned="none"), "soft bounce 5.2.2"),
        (blocked, samples.dsn(to=blocked.return_path, recipient=blocked.recipient, status="5.7.1",
                              diagnostic="smtp; 554 5.7.1 Service unavailable; client host blocked using a DNSBL",
                              returned="none"), "block bounce 5.7.1"),
        (warned, samples.delay_warning(to=warned.return_path, recipient=warned.recipient), "soft bounce 4.0.0"),
    ]
    for s, raw, prefix in cases:
        code, reply = feedback.deliver(raw, s.return_path)
        assert code == 250, reply
        assert _types(feedback, s) == ["bounced"]
        assert _detail(feedback, s, "bounced").startswith(prefix)
        assert feedback.suppressed(s.recipient) is None


def test_repeated_soft_bounces_suppress_for_a_while(feedback: FeedbackWorld) -> None:
    limit = feedback.config.soft_bounce_limit
    sent = feedback.sent(limit, recipient="full@isp.test")
    for i, s in enumerate(sent):
        raw = samples.dsn(to=s.return_path, recipient=s.recipient, status="5.2.2",
                          diagnostic="smtp; 552 5.2.2 Mailbox full", returned="none")
        assert feedback.deliver(raw, s.return_path)[0] == 250
        # The same report again (a retrying ISP) does not count twice.
        assert feedback.deliver(raw, s.return_path)[0] == 250
        if i < limit - 1:
            assert feedback.suppressed("full@isp.test") is None
    entry = feedback.store.get_suppression(feedback.tenant_id, "full@isp.test", time.time())
    assert entry is not None and entry.expires is not None
    hours = feedback.config.soft_bounce_suppress_hours
    assert abs(entry.expires - time.time() - hours * 3600) < 120
    assert f"{limit} soft bounces" in entry.reason


def test_dsn_with_several_recipients_reports_the_failed_one(feedback: FeedbackWorld) -> None:
    (s,) = feedback.sent(1, prefix="multi")
    extra = ("Final-Recipient: rfc822; someone.else@isp.test\nAction: delivered\nStatus: 2.0.0\n"
             "Remote-MTA: dns; mailstore.isp.test\n")
    raw = samples.dsn(to=s.return_path, recipient=s.recipient, returned="none", extra_recipients=extra)
    assert feedback.deliver(raw, s.return_path)[0] == 250
    assert _detail(feedback, s, "bounced").startswith("hard bounce 5.1.1")


@pytest.mark.parametrize("returned", ["message", "headers", "none"])
def test_arf_complaints_with_and_without_the_original(feedback: FeedbackWorld, returned: str) -> None:
    (s,) = feedback.sent(1, prefix=f"arf-{returned}-")
    orig = samples.original(message_id=s.message_id, return_path=s.return_path, to=s.recipient)
    # Without the original, only Original-Mail-From (our signed VERP address) names the message.
    raw = samples.arf(to="fbl@acme.test", rcpt=s.recipient, mail_from=s.return_path if returned == "none" else "",
                      returned=returned, orig=orig)
    code, reply = feedback.deliver(raw, "fbl@" + RETURN_PATH_DOMAIN)
    assert code == 250 and f"complaint of message {s.message_id}" in reply, reply
    assert _types(feedback, s) == ["complained", "suppressed"]
    assert _detail(feedback, s, "complained").startswith("complaint (abuse)")
    assert feedback.suppressed(s.recipient).startswith("complaint: abuse")


def test_repeated_report_gives_one_event(feedback: FeedbackWorld) -> None:
    (s,) = feedback.sent(1, prefix="again")
    raw = samples.arf(to="fbl@acme.test", mail_from=s.return_path, returned="none")
    assert feedback.deliver(raw, "fbl@" + RETURN_PATH_DOMAIN)[0] == 250
    code, reply = feedback.deliver(raw, "fbl@" + RETURN_PATH_DOMAIN)
    assert code == 250 and "duplicate" in reply
    assert _types(feedback, s) == ["complained", "suppressed"]
