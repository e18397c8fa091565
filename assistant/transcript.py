"""A stored conversation exported as Markdown (to read, paste, archive) or JSON (to process).

Both take the dict `History.get` returns, so an export holds exactly what its owner may
see: sources from collections they can no longer read are already gone.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

FORMATS = ("md", "json")
FORMAT = "onprem-assistant-conversation/1"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def to_markdown(conversation: dict[str, Any]) -> str:
    lines = [
        f"# {conversation['title'] or 'Conversation'}",
        "",
        f"Conversation `{conversation['id']}`, {len(conversation['turns'])} turns,"
        f" {conversation.get('created_at', '')} to {conversation.get('updated_at', '')}.",
    ]
    for n, turn in enumerate(conversation["turns"], start=1):
        lines += ["", f"## {n}. {' '.join(turn['question'].split())}", ""]
        if turn.get("standalone_query") and turn["standalone_query"] != turn["question"]:
            lines += [f"*Searched as:* {turn['standalone_query']}", ""]
        lines += [_quote(turn["answer"] or "(no answer)"), ""]
        if turn.get("refused"):
            lines += ["*Not covered by the documents.*", ""]
        if turn.get("stopped"):
            lines += ["*Stopped by the asker: the answer ends here.*", ""]
        for s in turn["sources"]:
            name = PurePath(str(s.get("source", ""))).name
            where = f" ({s['anchor']})" if s.get("anchor") else ""
            cited = " (cited)" if s.get("cited") else ""
            lines.append(f"- [{s.get('number', '')}] {name}{where}{cited}")
        lines.append(f"\n<sub>{turn.get('time', '')}</sub>")
    return "\n".join(lines).rstrip() + "\n"


def to_json(conversation: dict[str, Any]) -> str:
    return json.dumps({"format": FORMAT, **conversation}, indent=2, ensure_ascii=False) + "\n"


def render(conversation: dict[str, Any], fmt: str) -> str:
    return to_json(conversation) if fmt == "json" else to_markdown(conversation)


def file_name(conversation: dict[str, Any], fmt: str) -> str:
    """A safe file name from the title: letters, digits and dashes, plus the id's start."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", conversation["title"]).strip("-")[:48] or "conversation"
    return f"{stem}-{conversation['id'][:8]}.{fmt}"
