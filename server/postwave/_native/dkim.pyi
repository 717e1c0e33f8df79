from collections.abc import Sequence

from postwave.render.dkim import SIGNED_HEADERS as SIGNED_HEADERS
from postwave.render.dkim import DkimKey as DkimKey
from postwave.render.dkim import load_key as load_key
from postwave.render.dkim import load_keys as load_keys
from postwave.render.dkim import signature_header as signature_header

__all__ = [
    "SIGNED_HEADERS", "DkimKey", "load_key", "load_keys", "relaxed_body", "relaxed_header", "sign",
    "signature_header",
]

def relaxed_body(body: bytes) -> bytes: ...
def relaxed_header(field: bytes) -> bytes: ...
def sign(message: bytes, keys: Sequence[DkimKey], *, timestamp: int | None = None) -> bytes: ...
