"""The rendered report in headless Chromium: no console messages (errors, CSP violations) and a sensible
screenshot. Needs the Debian package: apt-get install -y chromium (skipped with that reason otherwise)."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import fixture_warehouse  # noqa: E402

from pipelines.report import write_report  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium not installed: apt-get update && apt-get install -y chromium")
TODAY = dt.datetime.now(dt.timezone.utc).date()


def render(page: Path, tmp_path: Path, size=(1280, 2400)) -> tuple[Path, list[str]]:
    """Screenshot `page`; return the PNG and every console message Chromium logged (':CONSOLE' lines)."""
    shot = tmp_path / f"{page.stem}.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return shot, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_console_detector_catches_a_csp_violation(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
                    "<p>x</p><img src=x onerror=alert(1)><script>console.error('boom')</script>", encoding="utf-8")
    _, console = render(page, tmp_path, (400, 300))
    assert console, "a page that breaks its CSP must produce console messages, or this check proves nothing"


@pytest.mark.parametrize("lang", ["en", "da"])
def test_report_renders_without_console_messages(write_config, tmp_path, lang):
    settings, _ = fixture_warehouse.install(write_config, TODAY)
    written = write_report(settings, as_of=TODAY, formats=["html"], lang=lang)
    shot, console = render(written["dir"] / "editorial-report.html", tmp_path)
    assert console == []
    assert png_size(shot) == (1280, 2400)
    # a rendered page with text, charts and tables compresses far worse than a blank one (~10 kB)
    assert 60_000 < shot.stat().st_size < 5_000_000


def test_hostile_report_renders_without_console_messages(write_config, tmp_path):
    from test_report import _insert_hostile  # the same hostile rows as the escaping test

    settings, _ = fixture_warehouse.install(write_config, TODAY)
    _insert_hostile(settings)
    written = write_report(settings, as_of=TODAY, formats=["html"])
    _, console = render(written["dir"] / "editorial-report.html", tmp_path, (1280, 6000))
    assert console == []
