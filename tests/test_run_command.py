"""The README's first command: scripts/run serves the portal on SQLite with the folder broker."""

import os
import signal
import socket
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
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
