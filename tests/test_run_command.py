"""The README's first command: scripts/run serves the portal on SQLite with the folder broker."""

import gzip
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_run_command_serves_the_sign_in_page(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SITE_URL"}
    }
    env.update(PORT=str(port), VAR_DIR=str(tmp_path / "var"))
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        ["bash", "scripts/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        page, deadline = None, time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert page is not None, f"the portal did not answer; its output:\n{output[-3000:]}"
        assert "Sign in to Policy Portal" in page
        assert f"http://127.0.0.1:{port}/" in output
        assert "staff@example.org" in output  # the demo sign-ins are printed
        # the worker and beat started beside the web server
        assert (tmp_path / "var" / "portal.sqlite3").exists()
        _assert_email_links_at(f"http://127.0.0.1:{port}/", tmp_path / "var" / "portal.sqlite3")
        _assert_styles_compressed_and_cached(page, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _assert_email_links_at(site: str, database: Path) -> None:
    """The demo's emails (in the outbox) link to the address the run command serves the portal at."""
    with sqlite3.connect(database) as db:
        bodies = [text for (text,) in db.execute("SELECT text FROM core_outboxmessage")]
    links = [link for text in bodies for link in re.findall(r"https?://[^\s]+", text)]
    assert links, "the demo should have written emails with links"
    assert all(link.startswith(site) for link in links), sorted(set(links))[:5]


def _assert_styles_compressed_and_cached(page: str, port: int) -> None:
    """The page's style sheets come gzip-compressed, under names that change with their content
    and with a far-future Cache-Control: a browser downloads Bootstrap once, not on every page."""
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert any("bootstrap" in href for href in sheets) and any("portal" in href for href in sheets), sheets
    for href in sheets:
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), f"{href}: no content hash in the name"
        request = urllib.request.Request(f"http://127.0.0.1:{port}{href}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body, headers = response.read(), response.headers
        assert headers["Content-Encoding"] == "gzip", f"{href}: {dict(headers)}"
        css = gzip.decompress(body)
        assert len(body) < len(css) / 2, f"{href}: {len(body)} bytes sent for {len(css)}"
        max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
        assert max_age >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"], headers["Cache-Control"]
