"""What the bad-input tests share: the payload corpus, sample files by their real bytes, and a
parser that says whether a page lets a payload act rather than show."""

import io
import zipfile
from html.parser import HTMLParser

# Each payload goes into every field a person types (the shortest field, a contact name, takes
# 50 characters). The last one is for spreadsheets, where a leading "=" is a formula.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    '"><a href="javascript:alert(1)">x</a>',
    "{{7*7}}{% debug %}",
    "</script><script>alert(1)</script>",
    '=HYPERLINK("http://x.example","点我")',
]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\0" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx() -> bytes:
    """A minimal Word document: a zip with the parts that mark it as one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


# Attributes whose value a browser follows as a URL.
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


class _Walker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and "alert(" in value:
                self.problems.append(f"<{tag} {name}={value!r}>: an event handler from the input")
            if name in _URL_ATTRIBUTES and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>: a javascript: URL")
        if tag == "script":
            self._script = dict(attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._script = None

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is None:
            self.text.append(data)
        elif self._script.get("type") == "application/json":
            # json_script writes <, > and & as \u003C…: a "</script>" in the data cannot end it.
            if "<" in data:
                self.problems.append(f"JSON in a script block with a raw '<': {data[:80]!r}")
        elif "alert(" in data:
            self.problems.append(f"a script from the input runs: {data[:80]!r}")


def html_problems(html: str) -> tuple[list[str], str]:
    """The ways the page lets input act (empty when none), and the page's visible text."""
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.problems, "".join(walker.text)


def assert_inert(html: str, payload: str, *, shown: bool = True, where: str = "") -> None:
    """The page shows the payload as text (when `shown`), and nothing in it acts."""
    problems, text = html_problems(html)
    assert not problems, f"{where}: {problems}"
    assert "<script>alert(1)" not in html, where
    if shown:
        assert payload in text, f"{where}: the input is not shown as typed"
