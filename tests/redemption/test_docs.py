"""The CRM section of the README (docs/crm.md) runs as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "crm.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_crm_example_runs_as_written(db_url, shop) -> None:
    examples = [b for b in _blocks() if b.lstrip().startswith(">>>")]
    assert len(examples) == 1
    globs = {"database_url": db_url, "code": shop.code(1)}
    parser = doctest.DocTestParser()
    test = parser.get_doctest(examples[0], globs, "docs/crm.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 6


def test_call_sketch_is_valid_python() -> None:
    sketch = [b for b in _blocks() if not b.lstrip().startswith(">>>")]
    assert sketch
    for block in sketch:
        compile(block, "docs/crm.md", "exec")


def test_error_table_lists_every_code() -> None:
    from loyalcode.redemption.errors import error_codes

    text = DOC.read_text(encoding="utf-8")
    for code in error_codes():
        assert f"`{code}`" in text, code
