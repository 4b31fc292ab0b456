"""The browser tests' own parts that need no browser: the lock file, the version check, the
server's config. The browser run itself is in test_end_to_end.py, on the demo's course folder."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests import browser
from tests.helpers import require

UI = browser.UI


def test_node_packages_are_pinned_and_locked():
    """Exact pins in package.json; the committed lock file agrees and has a checksum for every
    package, so `npm ci` installs the same tree everywhere (or fails)."""
    package = json.loads((UI / "package.json").read_text())
    lock = json.loads((UI / "package-lock.json").read_text())
    pins = package["devDependencies"]
    assert set(pins) == {"@jupyterlab/galata", "@playwright/test"}
    for name, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned exactly: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert lock["packages"][""]["devDependencies"] == pins
    assert lock["packages"]["node_modules/playwright-core"]["version"] == pins["@playwright/test"]
    unchecked = [path for path, entry in lock["packages"].items()
                 if path and not entry.get("link") and "integrity" not in entry]
    assert not unchecked, f"packages without an integrity checksum: {unchecked[:5]}"


def test_the_server_listens_on_loopback_only():
    """The test server has no token: it must not be reachable from other machines."""
    config = (UI / "jupyter_server_config.py").read_text()
    assert 'c.ServerApp.ip = "127.0.0.1"' in config
    assert "0.0.0.0" not in config


@pytest.mark.parametrize("token", ["", "3f1c0ffee"])
def test_with_a_token_the_server_is_an_instructors_ordinary_one(token, monkeypatch):
    """The security tests' server: token login and XSRF checks on; Galata's: neither."""
    from traitlets.config import Config
    config = Config()
    monkeypatch.setenv("COURSE_UI_TOKEN", token)
    for name, value in (("COURSE_UI_PORT", "8888"), ("COURSE_UI_ROOT", "/"), ("COURSE_UI_STATE", "/")):
        monkeypatch.setenv(name, value)
    exec(compile((UI / "jupyter_server_config.py").read_text(), "jupyter_server_config.py", "exec"),
         {"get_config": lambda: config})
    assert config.IdentityProvider.token == token
    assert config.ServerApp.disable_check_xsrf is (not token)


@pytest.fixture(scope="module")
def expected_chromium() -> int:
    require(None if shutil.which("node") and shutil.which("npm") else "Node.js and npm are not installed")
    modules = browser.node_modules()
    version = json.loads((modules / "playwright-core" / "browsers.json").read_text())
    chromium = next(b for b in version["browsers"] if b["name"] == "chromium")
    return int(chromium["browserVersion"].split(".")[0])


def _check(executable) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(UI / "browser-version.js"), str(executable)], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("drift,accepted", [(0, True), (-2, True), (2, True), (-3, False), (3, False),
                                            (-40, False)])
def test_the_version_check_stops_a_browser_playwright_cannot_drive(expected_chromium, tmp_path, drift, accepted):
    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\necho 'Chromium {expected_chromium + drift}.0.7000.10 built on Debian'\n")
    fake.chmod(0o755)
    proc = _check(fake)
    if accepted:
        assert proc.returncode == 0, proc.stderr
        assert f"browser: Chromium {expected_chromium + drift}.0.7000.10" in proc.stdout
    else:
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{abs(drift)} major versions apart, more than 2" in lines[0], proc.stderr


@pytest.mark.parametrize("printed", ["", "Google Chrome dev build", "Chromium"])
def test_the_version_check_refuses_what_it_cannot_read(expected_chromium, tmp_path, printed):
    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\necho '{printed}'\n")
    fake.chmod(0o755)
    proc = _check(fake)
    assert proc.returncode == 1 and "cannot read a version" in proc.stderr, proc.stderr
    proc = _check(tmp_path / "nothing-here")
    assert proc.returncode == 1 and "cannot run" in proc.stderr, proc.stderr


def test_debians_chromium_is_what_runs(expected_chromium):
    require(None if browser.chromium() else "Debian's chromium-headless-shell is not installed")
    proc = _check(browser.chromium())
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"browser: Chromium \d+\.\d+\.\d+\.\d+ \(/usr/", proc.stdout), proc.stdout
