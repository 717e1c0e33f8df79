"""Strict parsing and normalisation of email addresses."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwave.errors import InvalidArgumentError
from postwave.mta import session as session_module
from postwave.render.addresses import domain_of, normalize_address, parse_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ann@example.com", ("", "ann@example.com")),
        ("  ann@example.com  ", ("", "ann@example.com")),
        ("<ann@example.com>", ("", "ann@example.com")),
        ("Ann Lee <Ann.Lee@Example.COM>", ("Ann Lee", "Ann.Lee@example.com")),
        ("John Q. Public <jqp@example.com>", ("John Q. Public", "jqp@example.com")),
        ('"Lee, Ann" <ann@example.com>', ("Lee, Ann", "ann@example.com")),
        ('"Ann \\"The\\" Lee" <ann@example.com>', ('Ann "The" Lee', "ann@example.com")),
        ('"" <ann@example.com>', ("", "ann@example.com")),
        ("Jörg Müller <j@example.com>", ("Jörg Müller", "j@example.com")),
        ("a+tag@sub.example.co.uk", ("", "a+tag@sub.example.co.uk")),
        ("o'brien!#$%&*+/=?^_`{|}~-@example.com", ("", "o'brien!#$%&*+/=?^_`{|}~-@example.com")),
        ("x@bücher.de", ("", "x@xn--bcher-kva.de")),
        ("x@MÜNCHEN.DE", ("", "x@xn--mnchen-3ya.de")),
        ("x@xn--bcher-kva.de", ("", "x@xn--bcher-kva.de")),
        ('"john doe"@example.com', ("", '"john doe"@example.com')),
        ('"ann"@example.com', ("", "ann@example.com")),
        ("a@b-c.example", ("", "a@b-c.example")),
        ("a" * 64 + "@example.com", ("", "a" * 64 + "@example.com")),
    ],
)
def test_parses_valid_addresses(value: str, expected: tuple[str, str]) -> None:
    assert parse_address(value, field="to[0]") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("ann.example.com", "missing '@'"),
        ("Ann <ann.example.com>", "missing '@'"),
        ("a@b@example.com", "more than one '@'"),
        ("a@example.com, b@example.com", "more than one address"),
        ("a@example.com; b@example.com", "more than one address"),
        ("Ann <a@example.com>, Bob <b@example.com>", "more than one address"),
        ("Group: a@example.com;", "more than one address"),
        ("a@example.com\r\nBcc: victim@example.com", "control character (CR)"),
        ("a@example.com\nBcc: victim@example.com", "control character (LF)"),
        ("Ann\r\n <a@example.com>", "control character (CR)"),
        ("a\x00@example.com", "control character (NUL)"),
        ("a\t@example.com", "control character (TAB)"),
        ("a@exa\x7fmple.com", "control character (U+007F)"),
        ("a@exa\x85mple.com", "control character (U+0085)"),
        ("a@exa\u2028mple.com", "control character (U+2028)"),
        ('"a\r\nb"@example.com', "control character (CR)"),
        ("ann lee@example.com", "spaces are not allowed"),
        ("ann@exa mple.com", "spaces are not allowed"),
        ("Ann Lee ann@example.com", "spaces are not allowed"),
        ("a" * 65 + "@example.com", "local part is longer than 64"),
        ("a@" + ".".join(["b" * 60] * 5) + ".com", "domain is longer than 253"),
        ("a" * 64 + "@" + ".".join(["b" * 62] * 3) + ".com", "address is longer than 254"),
        ("a@localhost", "at least one dot"),
        ("a@", "missing domain"),
        ("@example.com", "empty local part"),
        ('""@example.com', "empty local part"),
        (".a@example.com", "leading, trailing or double dot"),
        ("a.@example.com", "leading, trailing or double dot"),
        ("a..b@example.com", "leading, trailing or double dot"),
        ("a@.example.com", "leading, trailing or double dot"),
        ("a@example.com.", "leading, trailing or double dot"),
        ("a@example..com", "leading, trailing or double dot"),
        ("a@-example.com", "inner hyphens"),
        ("a@example-.com", "inner hyphens"),
        ("a@exa_mple.com", "inner hyphens"),
        ("a@" + "b" * 64 + ".com", "longer than 63"),
        ("a@[192.0.2.1]", "IP-literal domains"),
        ("a@[IPv6:2001:db8::1]", "IP-literal domains"),
        ("a@192.0.2.1", "looks like an IP address"),
        ("a@xn--zz.com", "not valid punycode"),
        ("jörg@example.com", "SMTPUTF8"),
        ('"jörg"@example.com', "SMTPUTF8"),
        ('"a@evil.example>"@bank.example', "quoted local part contains '@'"),
        ('"a<b"@example.com', "quoted local part contains '<'"),
        ('"ann@example.com', "unbalanced double quote"),
        ('"ann"x@example.com', "must be followed by '@'"),
        ("a(comment)@example.com", "invalid character '('"),
        ("Ann <a@example.com> trailing", "text after"),
        ("a@example.com>", "'>' without a matching '<'"),
        ("Re: Ann <a@example.com>", "display name contains ':'"),
        ("ann@x <a@example.com>", "display name contains '@'"),
        ('Ann "Q" Lee <a@example.com>', "display name contains '\"'"),
        ('"Ann" Lee <a@example.com>', "quote the whole name"),
        ("Ann <<a@example.com>>", "invalid character '<'"),
    ],
)
def test_rejects_invalid_addresses(value: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_address(value, field="to[2]")
    assert caught.value.field == "to[2]"
    assert message in caught.value.description


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        parse_address(None, field="from")  # type: ignore[arg-type]


def test_normalize_address() -> None:
    assert normalize_address("Ann.Lee@Example.COM") == "Ann.Lee@example.com"
    assert normalize_address("x@Bücher.DE") == "x@xn--bcher-kva.de"
    assert normalize_address('"ann"@example.com') == "ann@example.com"
    with pytest.raises(InvalidArgumentError) as caught:
        normalize_address("Ann <a@example.com>")
    assert caught.value.field == "address"


def test_domain_of() -> None:
    assert domain_of("ann@Example.COM") == "example.com"
    assert domain_of("x@bücher.de") == "xn--bcher-kva.de"
    assert domain_of('"a b"@example.org') == "example.org"
    for bad in ("example.com", "@example.com", "a@", "a@b"):
        with pytest.raises(InvalidArgumentError):
            domain_of(bad)


# -- properties -----------------------------------------------------------------------------

_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
_atoms = st.text(alphabet=_ATEXT, min_size=1, max_size=10)
_local_parts = st.lists(_atoms, min_size=1, max_size=4).map(".".join).filter(lambda s: len(s) <= 64)
_labels = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
_domains = st.tuples(st.lists(_labels, min_size=1, max_size=3), st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True)).map(
    lambda parts: ".".join([*parts[0], parts[1]])
)
_display_names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=500)
@given(
    st.text(max_size=80)
    | st.from_regex(r"[^<>]*<[^<>]*@[^<>]*>", fullmatch=True)
    | st.tuples(st.text(max_size=20), st.text(max_size=30)).map("@".join)
)
def test_parse_returns_a_normal_address_or_raises_invalid_argument(value: str) -> None:
    try:
        display, address = parse_address(value, field="to")
    except InvalidArgumentError as error:
        assert error.field == "to"
        return
    assert normalize_address(address) == address
    assert parse_address(address, field="to") == ("", address)
    assert len(address) <= 254
    local, _, domain = address.rpartition("@")
    assert domain == domain.lower() and domain.isascii() and "." in domain
    assert len(local) <= 64 and local.isascii()
    assert not any(c in value for c in "\r\n\x00")


@settings(max_examples=300)
@given(local=_local_parts, domain=_domains, name=_display_names)
def test_valid_addresses_parse_like_the_standard_library(local: str, domain: str, name: str) -> None:
    address = f"{local}@{domain}"
    if len(address) > 254:
        return
    assert parse_address(address, field="to") == ("", f"{local}@{domain.lower()}")
    shown = " ".join(word for word in name.split(" ") if word)  # runs of spaces are one space
    assert parse_address(f"{_quote(name)} <{address}>", field="to") == (shown, f"{local}@{domain.lower()}")
    parsed = Address(addr_spec=address)
    assert (parsed.username, parsed.domain) == (local, domain)
    assert domain_of(address) == domain.lower()


# -- the envelope check before MAIL FROM / RCPT TO (postwave.mta.session) --------------


@settings(max_examples=400, deadline=None)
@given(st.from_regex(session_module._PLAIN, fullmatch=True))
def test_the_envelope_fast_path_accepts_only_what_the_full_check_accepts(address: str) -> None:
    assert session_module._parsed_address_problem(address) == ""
    assert session_module._address_problem(address) == ""


@pytest.mark.parametrize("address", ["a@b.c", "first.last+tag@mail.example.com", "x-y_z@sub-1.example.org"])
def test_plain_addresses_take_the_fast_path(address: str) -> None:
    assert session_module._PLAIN.fullmatch(address)
    session_module.check_addresses(address, address)


@pytest.mark.parametrize("address", ["a b@x.test", "a@x.test (comment)", "a@x.test\r\nRCPT TO:<b@y.test>",
                                     "Ann <a@x.test>"])
def test_addresses_off_the_fast_path_get_the_full_check(address: str) -> None:
    assert not session_module._PLAIN.fullmatch(address)
    with pytest.raises(InvalidArgumentError):
        session_module.check_addresses("s@x.test", address)


@pytest.mark.parametrize("address", ["a..b@x.test", ".a@x.test", '"quoted"@x.test'])
def test_odd_but_sendable_addresses_are_still_sent_as_given(address: str) -> None:
    assert not session_module._PLAIN.fullmatch(address)
    assert session_module._address_problem(address) == session_module._parsed_address_problem(address)
