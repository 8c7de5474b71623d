"""The import contracts in pyproject.toml ([tool.importlinter]) catch what they promise.

`make test` runs `lint-imports` on the tree; these tests run it on a copy of the tree with
one forbidden import added, to prove the contract fails where it should.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_copy(tmp_path, module: str, line: str) -> subprocess.CompletedProcess:
    shutil.copytree(ROOT / "ghee", tmp_path / "ghee", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.parent.mkdir(parents=True, exist_ok=True)
    for parent in target.relative_to(tmp_path).parents:
        if parent != Path(".") and not (tmp_path / parent / "__init__.py").exists():
            (tmp_path / parent / "__init__.py").touch()
    with target.open("a") as handle:
        handle.write(f"\n{line}\n")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "line", "message"),
    [
        (
            "ghee/core/leases.py",
            "from ghee.content.models import Job",
            "ghee.core is not allowed to import ghee.content",
        ),
        (
            "ghee/accounts/admin.py",
            "from ghee.content.models import Item",
            "ghee.accounts is not allowed to import ghee.content",
        ),
        (
            "ghee/webhooks/handlers.py",
            "from ghee.content.models import Item",
            "ghee.webhooks is not allowed to import ghee.content",
        ),
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(tmp_path, module, line, message):
    result = lint_copy(tmp_path, module, line)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout


def test_the_tree_keeps_its_contracts(tmp_path):
    result = lint_copy(tmp_path, "ghee/core/__init__.py", "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
