from postwave.tracking.linkwrap import InvalidTokenError as InvalidTokenError
from postwave.tracking.linkwrap import Token as Token
from postwave.tracking.linkwrap import html_links as html_links
from postwave.tracking.linkwrap import text_links as text_links
from postwave.tracking.linkwrap import verify_token as verify_token

__all__ = ["InvalidTokenError", "Token", "html_links", "sign_token", "text_links", "url_hash", "verify_token",
           "wrap_html", "wrap_text"]

def url_hash(url: str) -> str: ...
def sign_token(key: bytes, kind: str, message_id: str, url: str, index: int = 0, key_id: str = "1") -> str: ...
def wrap_html(
    html: str, *, base_url: str, key: bytes, message_id: str, links: bool = True, open_pixel: bool = True,
    key_id: str = "1",
) -> str: ...
def wrap_text(text: str, *, base_url: str, key: bytes, message_id: str, key_id: str = "1") -> str: ...
