"""Strict parsing and normalisation of email addresses.

Tenants hand us addresses in ``To``, ``From``, ``Reply-To`` and suppression lists. A lenient
parser (``email.utils.parseaddr``) guesses at malformed input, and parsers that guess
differently are how ``"a@evil.example>"@bank.example`` ends up delivered somewhere else
than it was checked (CVE-2023-27043). So this module accepts one documented subset of
RFC 5322 / RFC 5321 and refuses everything else with a message that says what is wrong:

* ``local@domain``, ``<local@domain>``, ``Display Name <local@domain>`` and
  ``"Quoted, Name" <local@domain>``; one address per value.
* local part: a dot-atom, or a quoted string of printable ASCII (without ``<>@,;:\\"()[]``,
  which lenient parsers downstream might read as the end of the address); at most 64 octets.
  Non-ASCII local parts need SMTPUTF8, which postwave does not offer yet.
* domain: a DNS name with at least one dot, labels of letters, digits and hyphens;
  internationalised names are converted to their IDNA ASCII form; no IP literals.
* the whole address at most 254 octets; no control characters anywhere.

Display names come back unquoted, with runs of spaces collapsed to one (as readers show
them). The normal form of an address keeps the local part as given (mailbox names may be case-sensitive) and
lower-cases the domain.
"""

from __future__ import annotations

import functools
import re

from postwave.errors import InvalidArgumentError

__all__ = ["domain_of", "normalize_address", "parse_address"]

_MAX_LOCAL = 64
_MAX_ADDRESS = 254  # RFC 5321 path limit (256) minus the angle brackets
_MAX_DOMAIN = 253
_MAX_LABEL = 63

# RFC 5322 atext: what may appear unquoted in a local part or display-name word.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = re.compile(f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: each is a line
# break or an invisible character to some parser along the way.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {"\r": "CR", "\n": "LF", "\x00": "NUL", "\t": "TAB"}
# Characters that end an unquoted display name or make it ambiguous.
_NAME_SPECIALS = frozenset('()<>[]:;@\\,"')
# Valid inside a quoted local part, but a lenient parser downstream (an SMTP library, a
# receiving server) may take them for the end of the address: "a@evil>"@bank.example.
_QUOTED_LOCAL_REFUSED = frozenset('<>@,;:\\"()[]')


def parse_address(value: str, *, field: str) -> tuple[str, str]:
    """Parse one mailbox into ``(display_name, address)``.

    Accepts ``"a@example.com"``, ``"<a@example.com>"``, ``"Ann Lee <a@example.com>"`` and
    ``'"Lee, Ann" <a@example.com>'``. The address comes back normalised (see
    :func:`normalize_address`); the display name is unquoted, ``""`` when absent.

    Raises:
        InvalidArgumentError: on ``field``, saying precisely what is wrong.
    """
    if not isinstance(value, str):
        return _parse_address(value, field)  # the error, from the one place that words it
    return _parse_address_cached(value, field)


# A worker renders the same From and Reply-To for every message of a campaign; a refusal
# (an exception) is not cached and is raised again each time.
@functools.lru_cache(maxsize=4096)
def _parse_address_cached(value: str, field: str) -> tuple[str, str]:
    return _parse_address(value, field)


def _parse_address(value: str, field: str) -> tuple[str, str]:
    text = _clean(value, field)
    _reject_lists(text, field)
    bracket = _find_unquoted(text, "<", field)
    if bracket < 0:
        if ">" in text and _find_unquoted(text, ">", field) >= 0:
            raise InvalidArgumentError(field, "'>' without a matching '<'")
        return "", _address(text, field)
    if not text.endswith(">"):
        raise InvalidArgumentError(field, "text after the '<address>' is not allowed")
    display = _display_name(text[:bracket], field)
    return display, _address(text[bracket + 1 : -1].strip(" "), field)


def normalize_address(addr: str) -> str:
    """The normal form of a bare address: local part as given, domain lower-case ASCII.

    Non-ASCII domains become their IDNA (``xn--``) form; a quoted local part that does
    not need its quotes loses them. Use it for comparisons and suppression lookups.

    Raises:
        InvalidArgumentError: on field ``address`` when ``addr`` is not a valid address.
    """
    return _address(_clean(addr, "address"), "address")


def domain_of(addr: str) -> str:
    """The normalised domain of an address (``"a@Example.COM"`` -> ``"example.com"``).

    Raises:
        InvalidArgumentError: on field ``address`` when there is no valid domain.
    """
    local, at, domain = _clean(addr, "address").rpartition("@")
    if not at or not local:
        raise InvalidArgumentError("address", "missing '@'")
    return _domain(domain, "address")


# -- steps --------------------------------------------------------------------------------


def _clean(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    control = _CONTROL.search(value)
    if control is not None:
        char = control.group()
        name = _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")
        raise InvalidArgumentError(field, f"contains a control character ({name}); not allowed in an address")
    text = value.strip(" ")
    if not text:
        raise InvalidArgumentError(field, "is empty")
    return text


def _reject_lists(text: str, field: str) -> None:
    for separator in ",;":
        if _find_unquoted(text, separator, field) >= 0:
            message = f"contains more than one address (found {separator!r}); give one per field"
            raise InvalidArgumentError(field, message)


def _find_unquoted(text: str, char: str, field: str) -> int:
    """Index of the first ``char`` outside double quotes, or -1."""
    if '"' not in text:
        return text.find(char)
    quoted = False
    escaped = False
    for index, current in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and current == "\\":
            escaped = True
        elif current == '"':
            quoted = not quoted
        elif current == char and not quoted:
            return index
    if quoted:
        raise InvalidArgumentError(field, "unbalanced double quote")
    return -1


def _display_name(raw: str, field: str) -> str:
    name = raw.strip(" ")
    if not name:
        return ""
    if name.startswith('"'):
        content, end = _quoted_string(name, field)
        if end != len(name):
            raise InvalidArgumentError(field, "text after the quoted display name; quote the whole name")
        name = content
    else:
        bad = next((c for c in name if c in _NAME_SPECIALS), None)
        if bad is not None:
            raise InvalidArgumentError(field, f"display name contains {bad!r}; put the name in double quotes")
    # Runs of spaces in a phrase mean one space to mail readers: store what they will show.
    return " ".join(word for word in name.split(" ") if word)


def _quoted_string(text: str, field: str) -> tuple[str, int]:
    """Unquote the string starting at ``text[0] == '"'``; return it and the index after it."""
    chars: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    raise InvalidArgumentError(field, "unbalanced double quote")


def _address(spec: str, field: str) -> str:
    local, domain = _split(spec, field)
    address = f"{local}@{_domain(domain, field)}"
    if len(address) > _MAX_ADDRESS:
        raise InvalidArgumentError(field, f"address is longer than {_MAX_ADDRESS} characters")
    return address


def _split(spec: str, field: str) -> tuple[str, str]:
    """Split an addr-spec into a checked local part and the (unchecked) domain text."""
    if not spec:
        raise InvalidArgumentError(field, "empty address")
    if spec.startswith('"'):
        content, end = _quoted_string(spec, field)
        if not spec.startswith("@", end):
            raise InvalidArgumentError(field, "a quoted local part must be followed by '@'")
        return _quoted_local(content, field), spec[end + 1 :]
    if "@" not in spec:
        raise InvalidArgumentError(field, "missing '@'")
    local, _, domain = spec.partition("@")
    if "@" in domain:
        raise InvalidArgumentError(field, "more than one '@' (a local part containing '@' must be quoted)")
    _check_local(local, field)
    return local, domain


def _check_local(local: str, field: str) -> None:
    if not local:
        raise InvalidArgumentError(field, "empty local part before '@'")
    if not local.isascii():
        raise InvalidArgumentError(field, "non-ASCII local part needs SMTPUTF8, which is not supported yet")
    if " " in local:
        raise InvalidArgumentError(field, "spaces are not allowed in an address")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidArgumentError(field, "local part has a leading, trailing or double dot")
    if not _DOT_ATOM.fullmatch(local):
        bad = next(c for c in local if c != "." and not _DOT_ATOM.fullmatch(c))
        raise InvalidArgumentError(field, f"invalid character {bad!r} in the local part")
    if len(local) > _MAX_LOCAL:
        raise InvalidArgumentError(field, f"local part is longer than {_MAX_LOCAL} characters")


def _quoted_local(content: str, field: str) -> str:
    """Check a quoted local part; return it in its shortest form."""
    if not content:
        raise InvalidArgumentError(field, "empty local part before '@'")
    if not content.isascii():
        raise InvalidArgumentError(field, "non-ASCII local part needs SMTPUTF8, which is not supported yet")
    bad = next((c for c in content if c in _QUOTED_LOCAL_REFUSED), None)
    if bad is not None:
        raise InvalidArgumentError(field, f"quoted local part contains {bad!r}, which postwave does not accept")
    # Without the quotes when they were not needed: "ann"@x is ann@x.
    local = content if _DOT_ATOM.fullmatch(content) else f'"{content}"'
    if len(local) > _MAX_LOCAL:
        raise InvalidArgumentError(field, f"local part is longer than {_MAX_LOCAL} characters")
    return local


def _domain(domain: str, field: str) -> str:
    result = _normal_domain(domain)
    if result.startswith("!"):  # an error message, cached with the good answers
        raise InvalidArgumentError(field, result[1:])
    return result


@functools.lru_cache(maxsize=8192)  # the same few thousand domains make up most traffic
def _normal_domain(domain: str) -> str:
    """The lower-case ASCII form of ``domain``, or ``"!reason"`` when it is invalid."""
    if not domain:
        return "!missing domain after '@'"
    if domain.startswith("["):
        return "!IP-literal domains like [192.0.2.1] are not supported; use a domain name"
    if " " in domain:
        return "!spaces are not allowed in an address"
    if domain.isascii():
        ascii_domain = domain.lower()
    else:
        try:
            # Python's codec implements IDNA 2003 (nameprep + punycode), which also maps
            # the ideographic full stop to '.' and lower-cases.
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return "!domain is not a valid internationalised domain name"
    return _label_problem(ascii_domain) or ascii_domain


def _label_problem(domain: str) -> str | None:
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return "!domain has a leading, trailing or double dot"
    labels = domain.split(".")
    if len(labels) < 2:
        return "!domain needs at least one dot (like example.com)"
    if len(domain) > _MAX_DOMAIN:
        return f"!domain is longer than {_MAX_DOMAIN} characters"
    for label in labels:
        if len(label) > _MAX_LABEL:
            return f"!domain label {label!r} is longer than {_MAX_LABEL} characters"
        if not _LABEL.fullmatch(label):
            return f"!domain label {label!r} may only hold letters, digits and inner hyphens"
        if label.startswith("xn--") and not _valid_punycode(label):
            return f"!domain label {label!r} is not valid punycode"
    if labels[-1].isdigit():
        return "!domain looks like an IP address; IP literals are not supported"
    return None


def _valid_punycode(label: str) -> bool:
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True
