"""The SPA runs on a closed hospital network: everything it loads is served by KneeGrade itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["']|\bfrom\s*["']|"""
    r"""\b(?:import|fetch)\s*\(\s*["'])(?:https?:)?//""",
    re.IGNORECASE,
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)""")
JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def _references(path: str, text: str) -> list[str]:
    """What a served file makes the browser load: its links, CSS urls and module imports."""
    if path.endswith(".html") or path == "/":
        parser = _Links()
        parser.feed(text)
        found = parser.links
    elif path.endswith(".css"):
        found = CSS_URL.findall(text)
    elif path.startswith("/js/"):
        found = JS_IMPORT.findall(text)
    else:
        return []
    return [ref for ref in found if not ref.startswith(("data:", "#"))]


def test_served_pages_reference_no_external_host(api) -> None:
    """Crawl from ``/``: every reference is local and served; no file names another host."""
    queue, seen = ["/"], set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = api.get(path)
        assert response.ok, f"{path} is referenced but answers {response.status}"
        if not path.endswith((".html", ".css", ".js", "/")):
            continue
        text = response.text()
        assert not EXTERNAL.search(text), f"{path} loads from another host: " + (
            EXTERNAL.search(text).group(0)
        )
        for ref in _references(path, text):
            target = urlsplit(urljoin(f"http://spa{path}", ref))
            assert target.netloc == "spa", f"{path} references {ref}"
            queue.append(target.path)
    served = {p.rsplit("/", 1)[-1] for p in seen}
    assert {
        "bootstrap.min.css",
        "bootstrap.bundle.min.js",
        "chart.umd.min.js",
        "bootstrap-icons.min.css",
        "bootstrap-icons.woff2",
        "app.js",
        "analytics.js",
    } <= served
