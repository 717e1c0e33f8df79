"""Reply classification against replies that real receiving servers send.

Texts are as aiosmtplib hands them over: the reply code stripped, lines joined by "\\n".
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwave.mta.classify import Classification, Outcome, classify

D, B, OK = Outcome.DEFERRED, Outcome.BOUNCED, Outcome.DELIVERED
T, F = True, False

# (code, text, outcome, suppress, policy, throttle, enhanced)
REPLIES = [
    # --- Gmail ---
    (250, "2.0.0 OK  1700000000 a1-20020a05600c0000si1234567wmq.12 - gsmtp", OK, F, F, F, "2.0.0"),
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try\n"
          "5.1.1 double-checking the recipient's email address for typos or\n"
          "5.1.1 unnecessary spaces. For more information, go to\n"
          "5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
     B, T, F, F, "5.1.1"),
    (550, "5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
          "5.2.1  https://support.google.com/mail/?p=DisabledUser a1si123 - gsmtp",
     B, T, F, F, "5.2.1"),
    (552, "5.2.2 The recipient's inbox is out of storage space. Please direct the\n"
          "5.2.2 recipient to\n"
          "5.2.2  https://support.google.com/mail/?p=OverQuotaPerm a1si123 - gsmtp",
     B, F, F, F, "5.2.2"),
    (452, "4.2.2 The recipient's inbox is out of storage space and inbound mail cannot be\n"
          "4.2.2 delivered. https://support.google.com/mail/?p=OverQuotaTemp a1si - gsmtp",
     D, F, F, F, "4.2.2"),
    (450, "4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
          "4.2.1 prevents additional messages from being delivered. Please resend your\n"
          "4.2.1 message at a later time. https://support.google.com/mail/?p=ReceivingRate",
     D, F, F, T, "4.2.1"),
    (421, "4.7.28 [203.0.113.5      15] Our system has detected an unusual rate of\n"
          "4.7.28 unsolicited mail originating from your IP address. To protect our\n"
          "4.7.28 users from spam, mail sent from your IP address has been temporarily\n"
          "4.7.28 rate limited. https://support.google.com/mail/?p=UnsolicitedRateLimitError",
     D, F, T, T, "4.7.28"),
    (550, "5.7.1 [203.0.113.5] Our system has detected that this message is\n"
          "5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n"
          "5.7.1 this message has been blocked. "
          "https://support.google.com/mail/?p=UnsolicitedMessageError",
     B, F, T, F, "5.7.1"),
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
          "5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
     B, F, T, F, "5.7.26"),
    (550, "5.7.1 The user or domain that you are sending to (or from) has a policy that\n"
          "5.7.1 prohibited the mail that you sent.",
     B, F, T, F, "5.7.1"),
    (421, "4.3.0 Temporary System Problem.  Try again later (10). a1si123 - gsmtp",
     D, F, F, T, "4.3.0"),
    (452, "4.5.3 Your message has too many recipients. For more information regarding\n"
          "4.5.3 Google's sending limits, visit "
          "https://support.google.com/mail/?p=TooManyRecipients",
     D, F, F, T, "4.5.3"),
    # --- Outlook.com / Microsoft 365 ---
    (550, "5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [DM6NAM12FT034]",
     B, T, F, F, "5.5.0"),
    (550, "5.4.1 Recipient address rejected: Access denied. For more information see "
          "https://aka.ms/EXOSmtpErrors [AM0PR10MB2345.EURPRD10.PROD.OUTLOOK.COM]",
     B, T, F, F, "5.4.1"),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     B, T, F, F, "5.1.10"),
    (550, "5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your "
          "Internet service provider since part of their network is on our block list (S3150).",
     B, F, T, F, "5.7.1"),
    (451, "4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP "
          "reputation. For e-mail delivery information, see https://postmaster.live.com (S775)",
     D, F, T, T, "4.7.650"),
    (550, "5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from "
          "this list please visit https://sender.office.com/ and follow the directions.",
     B, F, T, F, "5.7.606"),
    (550, "5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
     B, F, T, F, "5.7.708"),
    (451, "4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77714)",
     D, F, T, T, "4.7.500"),
    (554, "5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
     B, F, F, F, "5.2.2"),
    (550, "5.7.1 Service unavailable, Client host [203.0.113.5] blocked using Spamhaus. To "
          "request removal from this list see https://www.spamhaus.org/query/ip/203.0.113.5",
     B, F, T, F, "5.7.1"),
    (452, "4.3.1 Insufficient system resources", D, F, F, F, "4.3.1"),
    # --- Yahoo / AOL ---
    (554, "5.7.9 Message not accepted for policy reasons.  "
          "See https://senders.yahooinc.com/error-codes",
     B, F, T, F, "5.7.9"),
    (421, "4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected "
          "volume or user complaints - 4.16.55.1; see https://senders.yahooinc.com/error-codes",
     D, F, T, T, "4.7.0"),
    (553, "5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred; Retrying "
          "will NOT succeed. See https://senders.yahooinc.com/error-codes",
     B, F, T, F, "5.7.2"),
    (552, "1 Requested mail action aborted, mailbox not found", B, T, F, F, None),
    (554, "delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - "
          "mta1234.mail.ne1.yahoo.com",
     B, T, F, F, None),
    (554, "30 Sorry, your message size exceeds 41943040 bytes.", B, F, F, F, None),
    (451, "Message temporarily deferred - [160]", D, F, F, F, None),
    # --- Postfix, Exim, sendmail, appliances ---
    (550, "5.1.1 <x@example.test>: Recipient address rejected: User unknown in virtual "
          "mailbox table",
     B, T, F, F, "5.1.1"),
    (450, "4.1.1 <x@example.test>: Recipient address rejected: User unknown in local "
          "recipient table",
     D, F, F, F, "4.1.1"),
    (450, "4.2.0 <x@example.test>: Recipient address rejected: Greylisted, see "
          "http://postgrey.schweikert.ch/help/example.test.html",
     D, F, F, F, "4.2.0"),
    (554, "5.7.1 Service unavailable; Client host [203.0.113.5] blocked using "
          "zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5",
     B, F, T, F, "5.7.1"),
    (554, "5.7.1 <x@example.test>: Recipient address rejected: Access denied",
     B, F, T, F, "5.7.1"),
    (553, "5.1.8 <bounce@sender.test>: Sender address rejected: Domain not found",
     B, F, F, F, "5.1.8"),
    (550, "5.1.0 <bounce@sender.test>: Sender address rejected: User unknown in local "
          "recipient table",
     B, F, F, F, "5.1.0"),
    (550, "5.1.0 Address rejected.", B, T, F, F, "5.1.0"),
    (451, "4.3.0 Error: queue file write error", D, F, F, F, "4.3.0"),
    (421, "4.4.2 mx.example.test Error: timeout exceeded", D, F, F, T, "4.4.2"),
    (550, "5.7.1 <x@example.test>: Relay access denied", B, F, T, F, "5.7.1"),
    (450, "4.7.1 Client host rejected: cannot find your hostname, [203.0.113.5]",
     D, F, T, F, "4.7.1"),
    (451, "4.7.1 Greylisting in action, please come back later", D, F, T, F, "4.7.1"),
    (451, "4.7.0 Temporary rate limit exceeded", D, F, T, T, "4.7.0"),
    (550, "5.0.0 <x@example.test>... User unknown", B, T, F, F, "5.0.0"),
    (552, "5.2.0 Mailbox full - user quota exceeded", B, F, F, F, "5.2.0"),
    (556, "5.1.10 Recipient address has null MX", B, T, F, F, "5.1.10"),
    (550, "5.1.1 user unknown; see our policy at https://example.test/policy", B, T, F, F, "5.1.1"),
    (550, "5.1.1 <x@icloud.com>: user does not exist", B, T, F, F, "5.1.1"),
    (554, "5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.5",
     B, F, T, F, "5.7.0"),
    (550, "Administrative prohibition - envelope blocked - "
          "https://community.mimecast.com/docs/DOC-1369#550",
     B, F, T, F, None),
    (554, "resimta-po-01v.sys.comcast.net resimta 203.0.113.5 found on one or more DNSBLs, "
          "see http://postmaster.comcast.net/smtp-error-codes.php#BL000010",
     B, F, T, F, None),
    (500, "5.5.1 Command unrecognized", B, F, F, F, "5.5.1"),
    (250, "Ok: queued as 4Tt0X02Zt6z9rxD", OK, F, F, F, None),
    # --- No enhanced code: the basic code and the words decide ---
    (550, "Requested action not taken: mailbox unavailable", B, T, F, F, None),
    (550, "No such user here", B, T, F, F, None),
    (551, "User not local; please try <forward@example.test>", B, T, F, F, None),
    (553, "sorry, no mailbox here by that name. (#5.1.1)", B, T, F, F, None),
    (550, "Message rejected", B, F, F, F, None),
    (554, "Transaction failed", B, F, F, F, None),
    (500, "No such user", B, F, F, F, None),  # 500 is a syntax error, whatever it says
    (452, "Too many recipients received this hour", D, F, F, T, None),
    (421, "Service not available, closing transmission channel", D, F, F, T, None),
    (450, "mailbox unavailable", D, F, F, F, None),
    # --- Codes that are not final replies are retried, never bounced ---
    (354, "End data with <CR><LF>.<CR><LF>", D, F, F, F, None),
    (600, "5.1.1 out of range", D, F, F, F, "5.1.1"),
    (199, "", D, F, F, F, None),
]


@pytest.mark.parametrize(
    ("code", "text", "outcome", "suppress", "policy", "throttle", "enhanced"),
    REPLIES,
    ids=[f"{r[0]}-{r[1][:40]}" for r in REPLIES],
)
def test_real_world_replies(
    code: int,
    text: str,
    outcome: Outcome,
    suppress: bool,
    policy: bool,
    throttle: bool,
    enhanced: str | None,
) -> None:
    assert classify(code, text) == Classification(outcome, suppress, policy, throttle, enhanced)


@pytest.mark.parametrize(
    ("text", "enhanced"),
    [
        ("550-5.1.1 the code repeated, as in a log line", "5.1.1"),
        ("  5.7.1 leading spaces", "5.7.1"),
        ("5.1.10 two-digit detail", "5.1.10"),
        ("5.1.1.2 an address, not a code", None),
        ("5.1 too short", None),
        ("3.1.1 no such class", None),
        ("see 5.1.1 later in the text", None),
        ("5.01.1 zero padded", "5.1.1"),
    ],
)
def test_enhanced_code_parsing(text: str, enhanced: str | None) -> None:
    assert classify(550, text).enhanced == enhanced


def test_policy_never_suppresses_whatever_the_words() -> None:
    verdict = classify(550, "5.7.1 user unknown, mailbox unavailable, no such user")
    assert (verdict.suppress, verdict.policy) == (False, True)


def test_deferral_never_suppresses() -> None:
    assert not classify(450, "4.1.1 user unknown").suppress


_ENHANCED_TEXT = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


@given(code=st.integers(200, 599), text=st.text())
def test_classify_never_raises_and_stays_consistent(code: int, text: str) -> None:
    verdict = classify(code, text)
    expected = {2: Outcome.DELIVERED, 4: Outcome.DEFERRED, 5: Outcome.BOUNCED}.get(code // 100)
    assert verdict.outcome is (expected or Outcome.DEFERRED)
    assert not (verdict.suppress and verdict.policy)
    assert not verdict.suppress or verdict.outcome is Outcome.BOUNCED
    assert not verdict.throttle or verdict.outcome is Outcome.DEFERRED
    assert verdict.enhanced is None or _ENHANCED_TEXT.fullmatch(verdict.enhanced)


@given(
    code=st.integers(200, 599),
    enhanced=st.tuples(st.sampled_from("245"), st.integers(0, 999), st.integers(0, 999)),
    text=st.text(),
)
def test_enhanced_code_always_found_at_the_start(
    code: int, enhanced: tuple[str, int, int], text: str
) -> None:
    code_text = ".".join(map(str, enhanced))
    assert classify(code, f"{code_text} {text}").enhanced == code_text
