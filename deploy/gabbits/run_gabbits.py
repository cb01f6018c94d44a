"""Runs Gnocchi 4.7.1's own functional tests (gabbits) against a live `orzo http`.

Each YAML file gets a fresh server on an empty data directory (Gnocchi's
fixture gives each file empty state), mounted under /gnocchi as Gnocchi's test
runner mounts it. Prints one line per test and a summary; exits 1 if a test
fails that docs/http-api.md does not list as a known failure, or if a listed
one now passes (so the list stays true).

    python run_gabbits.py ORZO GABBITS_DIR DOCS_HTTP_API_MD FILE.yaml...
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from gabbi import driver
from gabbi import fixture as gabbi_fixture

import yaml


class ConfigFixture(gabbi_fixture.GabbiFixture):
    """Gnocchi's files name this fixture; the server is started per file below."""


class AssertNAN(yaml.YAMLObject):
    """Gnocchi's `!AssertNAN` tag: the value must be NaN."""
    yaml_tag = "!AssertNAN"
    yaml_loader = yaml.FullLoader if hasattr(yaml, "FullLoader") else yaml.Loader

    def __eq__(self, other):
        try:
            return other != other
        except Exception:
            return False

    @classmethod
    def from_yaml(cls, loader, node):
        return cls()


yaml.add_constructor("!AssertNAN", AssertNAN.from_yaml)
yaml.add_constructor("!AssertNAN", AssertNAN.from_yaml, Loader=yaml.SafeLoader)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(orzo, data_dir):
    port = free_port()
    process = subprocess.Popen(
        [orzo, "http", "--data-dir", data_dir, "--default-policies", "false",
         "--http-endpoint", f"127.0.0.1:{port}", "--http-prefix", "/gnocchi",
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise RuntimeError(f"orzo http did not start: {line!r}")
    return process, port


def known_failures(docs):
    """`- archive.yaml: test name: reason` lines under "Known failures" in docs/http-api.md."""
    known = {}
    inside = False
    with open(docs, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("## "):
                inside = line.strip() == "## Gnocchi's functional tests: known failures"
                continue
            match = re.match(r"- `([^`]+\.yaml)`: `([^`]+)`: (.*)", line) if inside else None
            if match:
                known[(match.group(1), match.group(2))] = match.group(3)
    return known


def main():
    orzo, gabbits, docs, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    known = known_failures(docs)
    results = {}
    for name in files:
        directory = tempfile.mkdtemp(prefix="orzo-gabbi-")
        shutil.copy(os.path.join(gabbits, name), directory)
        process, port = start_server(orzo, os.path.join(directory, "data"))
        try:
            loader = unittest.TestLoader()
            suite = driver.build_tests(
                directory, loader, url=f"http://127.0.0.1:{port}/gnocchi",
                fixture_module=sys.modules[__name__], safe_yaml=False)
            tests = list(iter_tests(suite))  # before the run: unittest drops them as it goes
            result = unittest.TestResult()
            suite.run(result)
            failed = {}
            for test, trace in result.failures + result.errors:
                failed[test.test_data["name"]] = trace.strip().splitlines()[-1][:300]
            for test in tests:
                test_name = test.test_data["name"]
                if test_name in failed:
                    results[(name, test_name)] = ("fail", failed[test_name])
                elif any(test is skipped for skipped, _ in result.skipped):
                    results[(name, test_name)] = ("skip", "")
                else:
                    results[(name, test_name)] = ("pass", "")
        finally:
            process.terminate()
            process.wait(timeout=10)
            shutil.rmtree(directory, ignore_errors=True)
    unexpected = 0
    for (name, test_name), (outcome, why) in results.items():
        listed = (name, test_name) in known
        mark = outcome
        if outcome == "fail" and not listed:
            mark = "FAIL"
            unexpected += 1
        elif outcome == "pass" and listed:
            mark = "PASS, but listed as a known failure"
            unexpected += 1
        print(f"{mark:5} {name}: {test_name}" + (f"  -- {why}" if outcome == "fail" else ""))
    counts = {o: sum(1 for v in results.values() if v[0] == o) for o in ("pass", "fail", "skip")}
    print(f"gabbits: {len(results)} tests in {len(files)} files: {counts['pass']} passed, "
          f"{counts['fail']} failed ({len([k for k in results if k in known])} known), {counts['skip']} skipped; "
          f"{unexpected} unexpected")
    return 1 if unexpected else 0


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


if __name__ == "__main__":
    sys.exit(main())
