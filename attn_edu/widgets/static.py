"""A static view beside each live widget, for pages that have no kernel.

A widget is a view of state that lives in the kernel: a static web page of
the book (``make book``) has no kernel, so a widget alone would show
"Loading widget..." there. Each of the book's widgets therefore adds to its
display a ``text/html`` view of its state when it is shown. JupyterLab ranks
the live widget first and shows it; the HTML book leaves the live widget
out and shows the static view.
"""

from __future__ import annotations

import html

NOTE = (
    '<p style="margin:0 0 6px 0;color:#555"><em>A static view of the widget as it first appeared: '
    "run the notebook to move its controls.</em></p>"
)


def with_static_view(bundle: dict | None, body: str) -> dict:
    """``bundle`` (a widget's MIME bundle) with ``body`` added as its ``text/html`` view."""
    bundle = dict(bundle or {})
    bundle["text/html"] = f'<div class="attn-edu-static-widget">{NOTE}{body}</div>'
    return bundle


def settings_line(settings: dict) -> str:
    """'mechanism = se, B = 2, ...' as one escaped HTML paragraph."""
    text = ", ".join(f"{key} = {value}" for key, value in settings.items())
    return f"<p style=\"margin:0 0 6px 0\"><code>{html.escape(text)}</code></p>"


def side_by_side(*parts: str) -> str:
    cells = "".join(f'<div style="flex:0 1 auto;overflow:auto;max-width:100%">{p}</div>' for p in parts if p)
    return f'<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">{cells}</div>'
