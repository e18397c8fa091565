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
from dataclasses import dataclass, field

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---[ \t]*\n", re.DOTALL)
_RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.MULTILINE)  # Markdown <hr>
_TOKEN = re.compile(
    r"""[ \t]*<a\s+class="yt-timestamp"\s+data-t="(?P<ts>[0-9:]+)"[^>]*>.*?</a>  # timestamp
    | \[\[(?P<target>[^\]|]+?)(?:\s*\|\s*(?P<label>[^\]]+?))?\s*\]\]         # wiki link
    | [ \t]*<[^>\n]+>                                                        # other HTML
    | \*\*                                                                   # bold marks
    """,
    re.VERBOSE | re.DOTALL,
)


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


def clean(raw: str, *, front_matter: bool = True) -> CleanText:
    """`front_matter=False` for a later part of a file read in parts: a `---` block there is
    a rule, not metadata."""
    text, title = raw.replace("\r\n", "\n"), None
    if front_matter:
        text, title = _front_matter(text)
    text = _RULE.sub("", text)  # separators say nothing; the line itself stays
    out: list[str] = []
    length = 0
    timestamps: list[Marker] = []
    position = 0
    for match in _TOKEN.finditer(text):
        kept = html.unescape(text[position : match.start()])
        out.append(kept)
        length += len(kept)
        position = match.end()
        if match.group("ts"):
            timestamps.append(Marker(length, match.group("ts")))
            continue
        replacement = ""
        if match.group("target"):
            replacement = (match.group("label") or match.group("target")).strip()
        out.append(replacement)
        length += len(replacement)
    out.append(html.unescape(text[position:]))
    return CleanText(text="".join(out), title=title, timestamps=timestamps)
