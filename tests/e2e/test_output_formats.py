"""check --output-format: what CI systems read. GitHub workflow commands
(unescaped as the runner does), a GitLab Code Quality report, SARIF 2.1.0
validated against a schema, JSON lines; PYCACHE_CLEAN_OUTPUT_FORMAT and
--exit-zero. The caches are CPython's own, outdated as a fixer would."""
import json
import os
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import SOURCE_ROOT, base_env, expect, run

SARIF_SUBSET = SOURCE_ROOT / "tests/data/sarif-2.1.0-subset.schema.json"
# GitLab's Code Quality report, as its documentation lists the fields.
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "check_name": {"type": "string"},
            "fingerprint": {"type": "string"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "properties": {"path": {"type": "string"},
                               "lines": {"type": "object",
                                         "properties": {"begin": {"type": "integer"}},
                                         "required": ["begin"]}},
                "required": ["path", "lines"],
            },
        },
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
    },
}
ODD = "we,ird:na%me"  # characters GitHub's commands and URIs must escape


def jsonschema():
    try:
        import jsonschema as module
    except ImportError:
        pytest.skip("needs python3-jsonschema")
    return module


def compile_here(root, *args):
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", *args, str(root)], check=True,
                   env=base_env(PYTHONDONTWRITEBYTECODE=None))


@pytest.fixture
def project(tmp_path):
    """pkg/ with a suspect cache (same size, same second), a legacy .pyc whose
    source is gone (oddly named), a stale cache and an ok one."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name in ("ok", "stale", "lying"):
        (pkg / f"{name}.py").write_text(f"X = {name!r}\n")
    compile_here(pkg)
    (pkg / f"{ODD}.py").write_text("Y = 1\n")
    compile_here(pkg / f"{ODD}.py", "-b")
    (pkg / f"{ODD}.py").unlink()
    (pkg / "stale.py").write_text("X = 'stale, longer'\n")
    st = os.stat(pkg / "lying.py")
    time.sleep(0.01)
    (pkg / "lying.py").write_text("X = 'LYING'\n")
    os.utime(pkg / "lying.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    return tmp_path


def check(project, *args, rc=1, **env):
    return expect(run("check", "--verify", "none", *args, "pkg", cwd=project,
                      env=base_env(**env)), rc=rc)


def unescape_github(text):
    return text.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n") \
        .replace("%0D", "\r").replace("%25", "%")


def test_github_annotations_name_each_failing_cache_by_its_relative_path(project):
    out = check(project, "--output-format", "github").out
    found = {}
    for line in out.splitlines():
        m = re.fullmatch(r"::(error|notice) file=([^,]*),title=([^:]*)::(.*)", line)
        if m:
            found[unescape_github(m.group(2))] = (m.group(1), unescape_github(m.group(3)),
                                                  unescape_github(m.group(4)))
    assert set(found) == {f"pkg/{ODD}.pyc", "pkg/__pycache__/lying.cpython-311.pyc"}, out
    for path, (level, title, message) in found.items():
        assert (project / path).is_file()
        assert level == "error" and title.startswith("pycache-clean: ")
        assert "(fix: pycache-clean clean --stale-only" in message
    assert "\nchecked 4 caches: 1 ok, 1 stale, 1 suspect, 1 orphan-importable\n" in out, out
    # -v adds the harmless ones as notices.
    out = check(project, "--output-format", "github", "-v").out
    assert "::notice file=pkg/__pycache__/stale.cpython-311.pyc," in out, out


def test_gitlab_code_quality_report(project):
    schema = jsonschema()
    out = check(project, "--output-format", "gitlab").out
    assert out.count("\n") == 1
    report = json.loads(out)
    schema.validate(report, GITLAB_SCHEMA)
    assert {i["location"]["path"] for i in report} == {f"pkg/{ODD}.pyc",
                                                       "pkg/__pycache__/lying.cpython-311.pyc"}
    assert {i["severity"] for i in report} == {"major"}
    assert len({i["fingerprint"] for i in report}) == len(report)
    again = json.loads(check(project, "--output-format", "gitlab").out)
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in report]  # stable


def test_sarif_validates_against_the_schema(project):
    schema = jsonschema()
    for args in ([], ["-v"]):
        out = check(project, "--output-format", "sarif", *args).out
        doc = json.loads(out)
        checker = schema.Draft7Validator.FORMAT_CHECKER
        schema.Draft7Validator(json.loads(SARIF_SUBSET.read_text()),
                               format_checker=checker).validate(doc)
        published = os.environ.get("PYCACHE_CLEAN_SARIF_SCHEMA")
        if published:
            schema.validate(doc, json.loads(Path(published).read_text()))
        run_ = doc["runs"][0]
        rules = run_["tool"]["driver"]["rules"]
        for result in run_["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert (project / urllib.parse.unquote(uri)).is_file(), uri
        levels = sorted(r["level"] for r in run_["results"])
        assert levels == (["error", "error"] if not args else ["error", "error", "note"]), levels


def test_json_lines_and_json(project):
    lines = check(project, "--output-format", "json-lines").out.splitlines()
    findings = [json.loads(line) for line in lines]
    doc = json.loads(check(project, "--output-format", "json").out)
    assert findings == doc["findings"]
    assert json.loads(check(project, "--json").out)["findings"] == doc["findings"]


def test_environment_variable_exit_zero_and_bad_input(project):
    r = check(project, PYCACHE_CLEAN_OUTPUT_FORMAT="github")
    assert r.out.startswith("::error "), r.out
    # The command line wins over the environment.
    assert json.loads(check(project, "--output-format", "json",
                            PYCACHE_CLEAN_OUTPUT_FORMAT="github").out)
    r = check(project, "--exit-zero", "--output-format", "github", rc=0)
    assert "::error " in r.out
    check(project, "--output-format", "xml", rc=2)
    r = check(project, "--json", "--output-format", "sarif", rc=2)
    assert "--json" in r.err and "sarif" in r.err
    r = expect(run("check", "--exit-zero", project / "missing"), rc=1)  # an error stays one
    r = expect(run("check", cwd=project, env=base_env(PYCACHE_CLEAN_OUTPUT_FORMAT="yaml")), rc=2)
    # The value came from the environment: the message names the variable,
    # not an option nobody typed.
    assert "PYCACHE_CLEAN_OUTPUT_FORMAT: 'yaml' is not one of" in r.err, r.err
    assert "--output-format" not in r.err, r.err
