"""The benchmark message: about 20 KB, five links, personalized, text and HTML.

postwave renders it per recipient (substitutions), wraps its links and adds the open pixel
(tracking on), assembles MIME and DKIM-signs it. The Postfix comparison is given the
rendered result of the same template (Postfix does not render), so both sign and relay the
same bytes.
"""

from __future__ import annotations

from typing import Any

LINKS = [f"https://shop.bench.test/{path}?utm_source=bench&utm_campaign=spring"
         for path in ("offers", "new-arrivals", "account", "stores/nearest", "help/faq")]

_PARAGRAPH = ("Dear {{ name }}, thank you for shopping with us in {{ city }}. This season we have prepared "
              "a selection of products chosen for you, order number {{ order }}, with delivery in two days. ")


def _text() -> str:
    body = [_PARAGRAPH * 4 + "\n" for _ in range(16)]
    body.insert(3, "".join(f"- {url}\n" for url in LINKS))
    return "Hello {{ name }},\n\n" + "\n".join(body) + "\nThe Bench Shop team\n"


def _html() -> str:
    links = "".join(f'<li><a href="{url}">Link {i + 1} for {{{{ name }}}}</a></li>' for i, url in enumerate(LINKS))
    paragraphs = "".join(f"<p>{_PARAGRAPH * 2}</p>" for _ in range(20))
    return (f"<html><body><h1>Hello {{{{ name }}}}</h1>{paragraphs[: len(paragraphs) // 2]}<ul>{links}</ul>"
            f"{paragraphs[len(paragraphs) // 2:]}<p>The Bench Shop team</p></body></html>")


SUBJECT = "{{ name }}, your spring offers in {{ city }}"
TEXT = _text()
HTML = _html()


def substitutions(i: int) -> dict[str, Any]:
    """The personalization of recipient ``i``."""
    return {"name": f"Customer {i}", "city": ("Lyon", "Porto", "Turin", "Ghent")[i % 4], "order": 100000 + i}


def rendered_size() -> int:
    """Bytes of text + HTML after substitution (the MIME message adds headers and encoding)."""
    import jinja2

    env = jinja2.Environment(autoescape=False)
    values = substitutions(1)
    return len(env.from_string(TEXT).render(values)) + len(env.from_string(HTML).render(values))
