"""console.css is one file every screen appends to: a block left open swallows the sections after
it (once, the goods, desk, settings and reports styles applied on phones only). Checked here."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "console" / "static" / "console.css"


def test_every_block_closes_and_each_section_starts_at_the_top_level():
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n") + "/**/", CSS.read_text(), flags=re.S)
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("/**/"):  # a comment at the start of a line: a section's heading
            assert depth == 0, f"console.css line {number}: a section starts inside an open block"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"console.css line {number}: a '}}' closes nothing"
    assert depth == 0, "console.css ends inside an open block"
