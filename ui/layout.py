"""The chat page's layout styles and keyboard behaviour: the sidebar, the bar above the
chat, Stop, the account menu, a visible focus on every control, the page at phone width.

`KEYS_JS` runs once when the page loads: Esc stops the answer being written (it clicks
Stop, so the same handler runs as for the button), and on a narrow screen the sidebar
starts folded (Gradio opens it full width, covering the chat) and folds again once a
conversation is chosen in it."""

from __future__ import annotations

NARROW_PX = 768  # Gradio's own breakpoint: below it an open sidebar covers the page

LAYOUT_CSS = """
#chat-bar { align-items: center; gap: .5em; flex-wrap: wrap; }
.model-in-use { margin: 0; font-size: .85em; opacity: .85; overflow-wrap: anywhere; }
.answer-stopped { margin-top: .5em; font-size: .85em; font-style: italic;
  border-left: 3px solid var(--color-accent); padding-left: .5em; }
.user-menu summary { cursor: pointer; font-weight: 700; padding: .3em 0; }
.user-menu .user-actions { list-style: none; margin: .3em 0 .6em; padding: 0; }
.user-menu .user-actions li { margin: .25em 0; }
.user-menu .menu-note { font-size: .85em; opacity: .8; }
.user-menu .sign-out { background: none; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-sm); padding: .15em .6em; cursor: pointer; color: inherit; }
.user-local { font-size: .85em; opacity: .8; margin: 0 0 .4em; }
#conversations .wrap { flex-direction: column; gap: .2em; }
#conversations label { width: 100%; }
button:focus-visible, a:focus-visible, summary:focus-visible, input:focus-visible,
textarea:focus-visible, [role="radio"]:focus-visible, [tabindex]:focus-visible,
label:focus-within {
  outline: 3px solid var(--color-accent) !important; outline-offset: 2px; }
@media (max-width: 640px) {
  #chat { height: 62vh !important; }
  #chat-bar > * { flex: 1 1 100% !important; min-width: 100% !important; }
  #ask-row { flex-wrap: nowrap; }
  #ask-row button { min-width: 64px !important; }
}
"""

KEYS_JS = f"""() => {{
  document.addEventListener('keydown', (event) => {{
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    const stop = document.querySelector('#stop');
    if (stop && stop.offsetParent !== null) {{ event.preventDefault(); stop.click(); }}
  }});
  const narrow = () => window.innerWidth < {NARROW_PX};
  const fold = () => {{
    const open = document.querySelector('.sidebar.open .toggle-button');
    if (open && narrow()) open.click();
  }};
  fold();
  setTimeout(fold, 300);
  // on a phone, a conversation chosen in the sidebar is shown at once
  document.addEventListener('click', (event) => {{
    const target = event.target;
    if (target.closest && target.closest('#conversations label')) setTimeout(fold, 100);
  }});
}}"""
