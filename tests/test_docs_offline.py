"""/docs and /redoc work with no internet: every script and stylesheet they load is served by the app.

(The Lambda zip is built from requirements.txt, so the assets come from a pinned package, not a CDN.)
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

BASE = "http://testserver"
KNOWN_CDNS = ("cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis.com", "fonts.gstatic.com", "cdnjs.cloudflare.com")


class AssetLinks(HTMLParser):
    """Every <script src> and <link href> of a page, with what the link is for."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (rel, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and "src" in values:
            self.scripts.append(values["src"])
        if tag == "link" and "href" in values:
            self.links.append((values.get("rel", "").lower(), values["href"]))


def page(client: TestClient, path: str) -> tuple[str, AssetLinks]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = AssetLinks()
    parser.feed(response.text)
    return response.text, parser


def same_origin(url: str) -> bool:
    parts = urlsplit(urljoin(BASE + "/docs", url))
    return f"{parts.scheme}://{parts.netloc}" == BASE


def fetch_asset(client: TestClient, url: str, expected_types: tuple[str, ...], min_bytes: int) -> None:
    assert same_origin(url), f"{url} is not served by the app"
    response = client.get(urljoin(BASE + "/docs", url))
    assert response.status_code == 200, url
    content_type = response.headers["content-type"].split(";")[0].strip()
    assert content_type in expected_types, f"{url}: {content_type}"
    assert len(response.content) >= min_bytes, f"{url}: only {len(response.content)} bytes"


JS = ("text/javascript", "application/javascript")


@pytest.mark.parametrize(("path", "bundle"), [("/docs", "swagger-ui-bundle"), ("/redoc", "redoc")])
def test_docs_page_loads_only_assets_the_app_serves(client: TestClient, path: str, bundle: str) -> None:
    html, links = page(client, path)
    assert links.scripts, "the page loads its UI from a script"
    assert any(bundle in src for src in links.scripts)
    for src in links.scripts:
        fetch_asset(client, src, JS, min_bytes=100_000)
    for rel, href in links.links:
        if "stylesheet" in rel:
            fetch_asset(client, href, ("text/css",), min_bytes=10_000)
        elif "icon" in rel:
            fetch_asset(client, href, ("image/png", "image/x-icon", "image/vnd.microsoft.icon", "image/svg+xml"), min_bytes=100)
        else:
            pytest.fail(f"{path} links {href!r} (rel={rel!r}), which this test does not know")
    assert not [host for host in KNOWN_CDNS if host in html]
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE), "an absolute URL is loaded"
    assert "/openapi.json" in html


def test_swagger_ui_has_its_stylesheet(client: TestClient) -> None:
    _, links = page(client, "/docs")
    assert any("stylesheet" in rel for rel, _ in links.links)


def test_the_openapi_document_is_still_served(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Lending marketplace API"


def test_docs_assets_are_not_in_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
