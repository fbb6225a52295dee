"""pyproject.toml: the test extra installs every third-party module the tests (and the examples they run)
import, and the license is an SPDX expression backed by a LICENSE file."""
import ast
import pathlib
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra installs tomli
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DISTRIBUTION = {"sklearn": "scikit-learn"}  # import name -> distribution name, where they differ
# the project's own packages, and the examples, which import each other (train_digits_dp uses train_digits)
LOCAL = {"npgrad", "tests", "bench", "examples"} | {p.stem for p in (ROOT / "examples").glob("*.py")}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement_name(req):
    for stop in "<>=!~;[ ":
        req = req.split(stop)[0]
    return req.strip().lower()


def _imported_modules(paths):
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_test_extra_installs_everything_the_tests_import():
    paths = [*ROOT.glob("tests/*.py"), *ROOT.glob("examples/*.py")]
    third_party = {m for m in _imported_modules(paths) - LOCAL - set(sys.stdlib_module_names)} - {"tomli"}
    project = _pyproject()["project"]
    installed = {_requirement_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    missing = {m for m in third_party if DISTRIBUTION.get(m, m).lower() not in installed}
    assert {"torch", "sklearn", "tqdm", "matplotlib", "hypothesis"} <= third_party  # the scan sees them
    assert not missing, f"imported by tests/ or examples/ but not in the test extra: {sorted(missing)}"


def test_license_is_an_spdx_string_with_a_license_file():
    project = _pyproject()
    assert project["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "npgrad contributors" in text
    setuptools_req = [r for r in project["build-system"]["requires"] if _requirement_name(r) == "setuptools"]
    assert setuptools_req and int(setuptools_req[0].split(">=")[1].split(".")[0]) >= 77  # SPDX license strings
