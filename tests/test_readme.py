"""The README's Python examples run as written, and its first code block holds
exactly the two set-up commands that .ci/run uses."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_first_block_is_the_two_setup_commands():
    first = re.search(r"```\w*\n(.*?)```", README.read_text(), flags=re.S).group(1).strip().splitlines()
    assert len(first) == 2
    assert first[0].startswith("pip install -e . && ")
    assert first[1] == "pip install -e '.[test]' && pytest"
    ci = (README.parent / ".ci" / "run").read_text()
    assert first[1] in ci


def test_python_examples_run():
    blocks = code_blocks("python")
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
