"""Forged VERP addresses, malformed reports, unknown messages: refused or kept, never a crash."""

from __future__ import annotations

from tests.feedback import samples
from tests.feedback.conftest import RETURN_PATH_DOMAIN, FeedbackWorld


def _forged(address: str) -> str:
    local, domain = address.split("@")
    prefix, mid, mac = local.split("-")
    return f"{prefix}-{mid}-{'a' if mac[0] != 'a' else 'b'}{mac[1:]}@{domain}"


def test_forged_verp_recipients_are_refused_at_rcpt(feedback: FeedbackWorld) -> None:
    victim, other = feedback.sent(2, prefix="victim")
    raw = samples.dsn(to=victim.return_path, recipient=victim.recipient, returned="none")
    # A valid signature for another message id: the MAC is bound to the id.
    swapped = other.return_path.replace(other.message_id, victim.message_id)
    for address in (_forged(victim.return_path), swapped, _forged(victim.return_path).upper()):
        code, text = feedback.deliver(raw, address)
        assert code == 550 and "signature" in text, (address, text)
    assert feedback.events(victim.message_id) == []
    assert feedback.suppressed(victim.recipient) is None
    assert "refused forged VERP recipient" in feedback.log()


def test_forged_verp_inside_a_report_is_ignored_and_the_report_kept(feedback: FeedbackWorld) -> None:
    (victim,) = feedback.sent(1, prefix="inside")
    raw = samples.arf(to="fbl@acme.test", mail_from=_forged(victim.return_path), returned="none")
    code, reply = feedback.deliver(raw, "fbl@" + RETURN_PATH_DOMAIN)
    assert code == 250 and "kept as unmatched" in reply
    assert feedback.events(victim.message_id) == []
    assert feedback.suppressed(victim.recipient) is None
    (kept,) = feedback.store.list_feedback_reports(10)
    assert kept.status == "unmatched" and kept.raw == raw


def test_message_id_fallback_must_agree_with_the_reported_recipient(feedback: FeedbackWorld) -> None:
    (s,) = feedback.sent(1, prefix="owner")
    orig = samples.original(message_id=s.message_id, return_path="news@acme.test", to=s.recipient)
    raw = samples.dsn(to="postmaster@acme.test", recipient="not-the-recipient@isp.test", returned="headers",
                      orig=orig)
    code, reply = feedback.deliver(raw, "postmaster@" + RETURN_PATH_DOMAIN)
    assert code == 250 and "kept as unmatched" in reply
    assert feedback.events(s.message_id) == []


def test_report_for_a_message_that_does_not_exist_is_kept(feedback: FeedbackWorld) -> None:
    ghost = feedback.verp.address("0190aaaaaaa" + "0" * 16, RETURN_PATH_DOMAIN)  # signed, but never sent
    raw = samples.dsn(to=ghost, recipient="ghost@isp.test", returned="none")
    code, reply = feedback.deliver(raw, ghost)
    assert code == 250 and "kept as unmatched" in reply
    assert [r.status for r in feedback.store.list_feedback_reports(10)] == ["unmatched"]


def test_malformed_reports_are_kept_and_the_receiver_keeps_serving(feedback: FeedbackWorld) -> None:
    sent = feedback.sent(len(samples.MALFORMED), prefix="after")
    for (name, raw), s in zip(sorted(samples.MALFORMED.items()), sent):
        code, reply = feedback.deliver(raw, s.return_path)
        assert code == 250 and "kept as unparsed" in reply, (name, reply)
        kept = feedback.store.list_feedback_reports(1)[0]
        assert kept.status == "unparsed" and kept.rcpt_to == s.return_path and kept.reason, name
        assert kept.raw.replace(b"\r\n", b"\n").rstrip() == raw.replace(b"\r\n", b"\n").rstrip(), name
        assert feedback.events(s.message_id) == [], name
        # Still serving: a good report right after is processed.
        good = samples.dsn(to=s.return_path, recipient=s.recipient, returned="none")
        assert feedback.deliver(good, s.return_path)[0] == 250, name
        assert [e.type for e in feedback.events(s.message_id)] == ["bounced", "suppressed"], name
    assert len(feedback.store.list_feedback_reports(100)) == len(samples.MALFORMED)
    assert feedback.proc.poll() is None
