from postwave.tracking.linkwrap import InvalidTokenError as InvalidTokenError
from postwave.tracking.linkwrap import verify_token as verify_token

__all__ = ["InvalidTokenError", "sign_token", "verify_token", "wrap_html", "wrap_text"]

def sign_token(key: bytes, kind: str, message_id: str, url: str) -> str: ...
def wrap_html(
    html: str, *, base_url: str, key: bytes, message_id: str, links: bool = True, open_pixel: bool = True
) -> str: ...
def wrap_text(text: str, *, base_url: str, key: bytes, message_id: str) -> str: ...
