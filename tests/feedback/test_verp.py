"""VERP addresses: every message id round-trips; any change to the address is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from postwave.domains.masterkey import MasterKey
from postwave.feedback.verp import ForgedAddressError, Verp

VERP = Verp(MasterKey(b"k" * 32))
IDS = st.text("0123456789abcdef", min_size=8, max_size=64)


@given(message_id=IDS)
def test_address_round_trips_in_any_case(message_id: str) -> None:
    address = VERP.address(message_id, "pw-bounces.acme.test")
    assert len(address.split("@")[0]) <= 64 + 19 and address == address.lower()
    assert VERP.message_id(address) == message_id
    assert VERP.message_id(f"<{address.upper()}>") == message_id  # servers may change case


@given(message_id=IDS, position=st.integers(min_value=0), char=st.sampled_from("0123456789abcdefz"))
def test_any_changed_character_is_a_forgery(message_id: str, position: int, char: str) -> None:
    local, domain = VERP.address(message_id, "d.test").split("@")
    index = 2 + position % (len(local) - 2)  # anywhere after "b-"
    if local[index] == char or local[index] == "-":
        return
    changed = f"{local[:index]}{char}{local[index + 1:]}@{domain}"
    try:
        assert VERP.message_id(changed) is None  # no longer VERP-shaped at all
    except ForgedAddressError:
        pass


def test_another_key_does_not_verify_and_plain_addresses_are_not_verp() -> None:
    address = VERP.address("0190aaaabbbbcccc", "d.test")
    with pytest.raises(ForgedAddressError):
        Verp(MasterKey(b"x" * 32)).message_id(address)
    for plain in ("fbl@acme.test", "postmaster@d.test", "b-short-x@d.test", ""):
        assert VERP.message_id(plain) is None
