"""The CRM section of the README runs as written."""

from __future__ import annotations

import doctest
import re

from tests.readme import README, readme_section

DOC = README
SECTION = "For CRM developers"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme_section(SECTION), flags=re.DOTALL)


def test_crm_example_runs_as_written(db_url, shop) -> None:
    examples = [b for b in _blocks() if b.lstrip().startswith(">>>")]
    assert len(examples) == 1
    globs = {"database_url": db_url, "code": shop.code(1)}
    parser = doctest.DocTestParser()
    test = parser.get_doctest(examples[0], globs, "README.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 6


def test_call_sketch_is_valid_python() -> None:
    sketch = [b for b in _blocks() if not b.lstrip().startswith(">>>")]
    assert sketch
    for block in sketch:
        compile(block, "README.md", "exec")


def test_error_table_lists_every_code() -> None:
    from loyalcode.redemption.errors import error_codes

    text = readme_section(SECTION)
    for code in error_codes():
        assert f"`{code}`" in text, code
