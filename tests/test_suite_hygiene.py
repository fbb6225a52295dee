"""The test suite itself: no assertion that can never run or never fail, no silent skips of the oracle.

* ``assert_close(a, b) and assert_close(c, d)`` never runs the second check (``assert_close`` returns None);
  an expression statement that is a boolean operation or a comparison is always such a slip.
* ``assert CONSTANT`` or ``assert (x, "message")`` cannot fail.
* PyTorch, hypothesis, scikit-learn, tqdm and matplotlib are test dependencies (the test extra installs
  them): a missing one must fail loudly, not turn thousands of cases into skips. The finite-difference
  checks of the op table need no PyTorch and still run without it.
"""
import ast
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEST_FILES = sorted((ROOT / "tests").glob("*.py"))


def _trees():
    for path in TEST_FILES:
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_no_expression_statement_is_a_boolean_operation_or_comparison():
    slips = [f"{p.name}:{n.lineno}: {ast.unparse(n)[:80]}" for p, tree in _trees() for n in ast.walk(tree)
             if isinstance(n, ast.Expr) and isinstance(n.value, (ast.BoolOp, ast.Compare))]
    assert not slips, slips


def test_no_assert_that_cannot_fail():
    slips = [f"{p.name}:{n.lineno}: {ast.unparse(n)[:80]}" for p, tree in _trees() for n in ast.walk(tree)
             if isinstance(n, ast.Assert) and (isinstance(n.test, (ast.Tuple, ast.Constant))
                                               or isinstance(n.test, ast.Name) and n.test.id.isupper())]
    assert not slips, slips


def test_test_dependencies_are_imported_not_skipped():
    slips = [f"{p.name}:{n.lineno}" for p, tree in _trees() for n in ast.walk(tree)
             if isinstance(n, ast.Attribute) and n.attr == "importorskip"]
    assert not slips, slips


def _pytest_without_torch(*args):
    code = ("import sys; sys.modules['torch'] = None; import pytest; "
            f"sys.exit(pytest.main({list(args)!r} + ['-p', 'no:cacheprovider', '-q', '-o', 'addopts=']))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_finite_difference_checks_run_without_torch_and_torch_checks_fail():
    fd = _pytest_without_torch("tests/test_ops_table.py", "-k", "test_finite_difference and (sin or matmul or sum)")
    assert fd.returncode == 0 and " passed" in fd.stdout and "skipped" not in fd.stdout, fd.stdout[-2000:]
    oracle = _pytest_without_torch("tests/test_ops_table.py", "-k", "test_against_torch and sin")
    assert oracle.returncode == 1 and " failed" in oracle.stdout and "skipped" not in oracle.stdout
    assert "ModuleNotFoundError" in oracle.stdout, oracle.stdout[-2000:]
