"""Turn marked-up source text into clean text plus citation markers.

Real documents arrive with wiki links (`[[target | label]]`), HTML, YAML front matter and
video-timestamp anchors. The model should see plain prose; the citations should keep the
timestamps. Cleaning therefore records, for every removed timestamp, the offset in the
clean text where it stood. Newlines are never removed, so line numbers stay those of the
original file and can serve as anchors too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---[ \t]*\n", re.DOTALL)
_RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.MULTILINE)  # Markdown <hr>
# Where a token may start; each kind is then matched by hand with `str.find`. Once no `>`
# (or no `]`) is left in the text, `<` (or `[[`) can start nothing more and is not sought.
_STARTS = {
    (True, True): re.compile(r"<|\[\[|\*\*"),
    (True, False): re.compile(r"<|\*\*"),
    (False, True): re.compile(r"\[\[|\*\*"),
    (False, False): re.compile(r"\*\*"),
}
_TIMESTAMP = re.compile(r'<a\s+class="yt-timestamp"\s+data-t="([0-9:]+)"')


@dataclass(frozen=True)
class Marker:
    offset: int  # position in the clean text
    label: str  # e.g. "00:05:44"


@dataclass
class CleanText:
    text: str
    title: str | None = None
    timestamps: list[Marker] = field(default_factory=list)


def _front_matter(text: str) -> tuple[str, str | None]:
    """Blank out YAML front matter (keeping its lines) and return its `title`, if any."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, None
    title = next(
        (
            line.split(":", 1)[1].strip().strip("'\"")
            for line in match.group(1).splitlines()
            if line.lower().startswith("title:")
        ),
        None,
    )
    return "\n" * match.group(0).count("\n") + text[match.end() :], title or None


class _Finder:
    """`str.find` that remembers its last answer. The tokenizer asks for the next `>`,
    `</a>`, `]` or newline from positions that only move forward, so each needle's search
    covers the text about once: cleaning stays linear where the old single regex
    (`[ \t]*<...`, `.*?</a>`) rescanned the rest of the line from every space or `<`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cache: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, start: int) -> int:
        asked, found = self.cache.get(needle, (len(self.text) + 1, -1))
        if asked <= start and (found == -1 or start <= found):
            return found
        found = self.text.find(needle, start)
        self.cache[needle] = (start, found)
        return found


@dataclass
class _Token:
    start: int
    end: int
    replacement: str = ""
    timestamp: str = ""
    html: bool = False  # spaces and tabs before an HTML tag go with it


def _wiki(text: str, at: int, find: _Finder) -> _Token | None:
    """`[[target]]` or `[[target | label]]` (neither holds a `]`; the target no `|`)."""
    close = find.find("]", at + 2)
    if close < 0 or not text.startswith("]]", close):
        return None
    target, bar, label = text[at + 2 : close].partition("|")
    if not target or (bar and not label):
        return None
    return _Token(at, close + 2, (label if bar else target).strip())


def _tag(text: str, at: int, find: _Finder) -> _Token | None:
    """A timestamp anchor `<a class="yt-timestamp" data-t="..">..</a>`, else any one-line
    tag `<...>`."""
    stamp = _TIMESTAMP.match(text, at)
    if stamp:
        gt = find.find(">", stamp.end())
        close = find.find("</a>", gt + 1) if gt >= 0 else -1
        if close >= 0:
            return _Token(at, close + 4, timestamp=stamp.group(1), html=True)
    gt = find.find(">", at + 1)
    newline = find.find("\n", at + 1)
    if gt > at + 1 and (newline < 0 or gt < newline):
        return _Token(at, gt + 1, html=True)
    return None


def _tokens(text: str) -> Iterator[_Token]:
    find = _Finder(text)
    position = 0
    while True:
        starts = _STARTS[find.find(">", position) >= 0, find.find("]", position) >= 0]
        match = starts.search(text, position)
        if match is None:
            return
        at = match.start()
        if text.startswith("**", at):
            token: _Token | None = _Token(at, at + 2)
        elif text.startswith("[[", at):
            token = _wiki(text, at, find)
        else:
            token = _tag(text, at, find)
        if token is None:
            position = at + 1
            continue
        yield token
        position = token.end


def clean(raw: str, *, front_matter: bool = True) -> CleanText:
    """`front_matter=False` for a later part of a file read in parts: a `---` block there is
    a rule, not metadata. Linear in the size of the text, whatever it holds."""
    text, title = raw.replace("\r\n", "\n"), None
    if front_matter:
        text, title = _front_matter(text)
    text = _RULE.sub("", text)  # separators say nothing; the line itself stays
    out: list[str] = []
    length = 0
    timestamps: list[Marker] = []
    position = 0
    for token in _tokens(text):
        kept = text[position : token.start]
        kept = html.unescape(kept.rstrip(" \t") if token.html else kept)
        out.append(kept)
        length += len(kept)
        position = token.end
        if token.timestamp:
            timestamps.append(Marker(length, token.timestamp))
            continue
        out.append(token.replacement)
        length += len(token.replacement)
    out.append(html.unescape(text[position:]))
    return CleanText(text="".join(out), title=title, timestamps=timestamps)
