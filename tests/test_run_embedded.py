"""`make run` (scripts/run_embedded.py): the logins banner is kept, and start-up is quiet."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = {
    "vendors": [
        {
            "code": "acme",
            "name": "Acme",
            "erp_key": "cmik_demo",
            "users": {"vendor_admin": {"username": "acme-admin", "password": "pw-1"}},
            "customers": [
                {
                    "code": "glf",
                    "name": "Great Lakes",
                    "release_policy": "auto",
                    "scanner_token": "cmid_demo",
                    "users": {"customer_staff": {"username": "glf-staff", "password": "pw-2"}},
                }
            ],
        }
    ]
}


def load():
    spec = importlib.util.spec_from_file_location("run_embedded", ROOT / "scripts/run_embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_banner_is_written_to_var_owner_only(tmp_path):
    run_embedded = load()
    text = run_embedded.banner("http://127.0.0.1:8712", DEMO)
    assert "PORT=8712 make simulate" in text
    assert "var/demo-logins.txt" in text
    path = tmp_path / "var" / "demo-logins.txt"
    run_embedded.logins_write(text, path)
    saved = path.read_text()
    assert "acme-admin / pw-1" in saved and "glf-staff / pw-2" in saved and "cmik_demo" in saved
    assert path.stat().st_mode & 0o077 == 0
    assert run_embedded.LOGINS_FILE == ROOT / "var" / "demo-logins.txt"


def test_request_logs_are_off_unless_asked_for():
    run_embedded = load()
    quiet = run_embedded.process_commands("127.0.0.1", 8712, access_log=False)
    assert "--access-logfile" not in quiet["web"]
    assert "127.0.0.1:8712" in quiet["web"]
    loud = run_embedded.process_commands("127.0.0.1", 8712, access_log=True)
    assert loud["web"][-2:] == ["--access-logfile", "-"]
    env = run_embedded.quiet_environment({})
    assert env["LOG_LEVEL"] == "WARNING"
    assert run_embedded.quiet_environment({"LOG_LEVEL": "DEBUG"})["LOG_LEVEL"] == "DEBUG"
    kept = run_embedded.quiet_environment({"PYTHONWARNINGS": "error::DeprecationWarning"})
    assert kept["PYTHONWARNINGS"].startswith("error::DeprecationWarning,")


def _stderr_of(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stderr


def test_pillow_and_root_warnings_are_silenced():
    """What the embedded processes would print, with and without the quiet environment."""
    run_embedded = load()
    code = (
        "import django, warnings; django.setup();"
        "import barcode.writer;"  # the real "Pillow not found" (portals' labels import it)
        "from celery.exceptions import SecurityWarning;"
        "from celery.platforms import ROOT_DISCOURAGED;"
        "warnings.warn(SecurityWarning(ROOT_DISCOURAGED.format(uid=0, euid=0, gid=0, egid=0)))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "PYTHONWARNINGS")} | {
        "DJANGO_SETTINGS_MODULE": "cmi.settings",
        "SECRET_KEY": "x" * 50,
    }
    noisy = _stderr_of(code, base)
    assert "Pillow not found" in noisy and "superuser privileges" in noisy
    quiet = _stderr_of(code, run_embedded.quiet_environment(base))
    assert "Pillow not found" not in quiet and "superuser privileges" not in quiet, quiet
