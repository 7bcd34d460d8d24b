"""Runbook Markdown renders to HTML in which nothing runs: what a page would show, parsed as a browser would."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from incidents.markdown import render_markdown


class Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    def hrefs(self) -> list[str]:
        return [attrs.get("href") or "" for tag, attrs in self.tags if tag == "a"]

    def attributes(self) -> set[str]:
        return {name for _, attrs in self.tags for name in attrs}


def test_markdown_becomes_html() -> None:
    html = render_markdown(
        "# Disk full\n\n1. Check `df -h`\n2. **Rotate** the logs\n\n"
        "| host | limit |\n|---|---|\n| db-2 | 90% |\n\n[Dashboard](https://grafana.example/d/disk)"
    )

    elements = Elements(html)
    assert {"h1", "ol", "li", "code", "strong", "table", "td", "a"} <= elements.names()
    assert elements.hrefs() == ["https://grafana.example/d/disk"]
    assert "noopener" in html


@pytest.mark.parametrize(
    "markdown",
    [
        "[Click me](javascript:alert(1))",
        "[Click me](JaVaScRiPt:alert(document.cookie))",
        "[Click me](  javascript:alert(1))",
        "[Click me](vbscript:msgbox(1))",
        "[Click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="javascript:alert(1)">Click me</a>',
        "[Click me][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
    ],
)
def test_script_links_render_inert(markdown: str) -> None:
    html = render_markdown(markdown)

    for href in Elements(html).hrefs():
        assert href.strip().lower().startswith(("http:", "https:", "mailto:")), html


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "Before <script src=https://evil.example/x.js></script> after",
        '<img src="x" onerror="alert(1)">',
        '<div onclick="alert(1)">hi</div>',
        '<svg onload="alert(1)"></svg>',
        '<iframe src="https://evil.example"></iframe>',
        "<style>body{display:none}</style>",
        '<p style="background:url(javascript:alert(1))">x</p>',
    ],
)
def test_raw_html_renders_as_text(markdown: str) -> None:
    html = render_markdown(markdown)

    elements = Elements(html)
    assert elements.names() <= {"p"}, html
    assert not {name for name in elements.attributes() if name.startswith("on") or name in ("style", "src")}
    # What was written is still shown to the reader, as text.
    assert "&lt;" in html


def test_empty_body_renders_nothing() -> None:
    assert render_markdown("") == ""
