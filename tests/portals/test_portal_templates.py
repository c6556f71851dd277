"""The templates themselves: no comment that Django would print as text."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_comment_spans_lines():
    """`{# ... #}` must close on its own line; otherwise Django prints it into the page
    (a multi-line note takes {% comment %} ... {% endcomment %})."""
    broken = []
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for opened in re.finditer(r"\{#", line):
                if "#}" not in line[opened.end() :]:
                    broken.append(f"{path.relative_to(TEMPLATES)}:{number}")
    assert broken == []
