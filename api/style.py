"""The colours of the plain server-rendered pages (login, admin, document viewer), light or
dark as the system is set (`prefers-color-scheme`), each pair of text and background at
4.5:1 or better (WCAG AA), with a focus ring on every control. Inline in each page: they
load nothing from anywhere."""

from __future__ import annotations

PALETTE = """
:root { color-scheme: light dark; --bg: #f6f7f9; --surface: #ffffff; --fg: #1f2937;
  --muted: #4b5563; --border: #9ca3af; --line: #d1d5db; --link: #1d4ed8; --focus: #1d4ed8;
  --error: #b91c1c; --error-bg: #fbeaea; --ok-bg: #e7f3e7; --code-bg: #eef0f3;
  --accent: #0369a1; --cited-bg: #f0f9ff; --mark-bg: #fde68a; --mark-fg: #1f2937;
  --button: #e5e7eb; --primary: #c2410c; --primary-fg: #ffffff; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111318; --surface: #1c1f26; --fg: #e5e7eb; --muted: #b6bcc6;
    --border: #6b7280; --line: #374151; --link: #93c5fd; --focus: #93c5fd;
    --error: #fca5a5; --error-bg: #3b1618; --ok-bg: #16301c; --code-bg: #262a33;
    --accent: #7dd3fc; --cited-bg: #0c2a3d; --mark-bg: #713f12; --mark-fg: #fef3c7;
    --button: #374151; --primary: #c2410c; --primary-fg: #ffffff; }
}
body { background: var(--bg); color: var(--fg); }
a { color: var(--link); }
input, select, textarea { background: var(--surface); color: var(--fg);
  border: 1px solid var(--border); border-radius: 4px; }
button { background: var(--button); color: var(--fg); border: 1px solid var(--border);
  border-radius: 4px; padding: .2em .6em; font: inherit; cursor: pointer; }
button.primary { background: var(--primary); color: var(--primary-fg); border-color: transparent; }
:is(a, button, input, select, textarea, summary):focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
"""
