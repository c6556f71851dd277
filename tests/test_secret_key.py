"""No process starts without SECRET_KEY, and each names the variable it misses.

Every entry point is started for real in a subprocess with SECRET_KEY removed from its
environment and DEBUG=false: `manage.py check`, gunicorn loading `cmi.wsgi`, a Celery
worker and Celery beat. Each must exit non-zero within the time limit (a worker or beat
that started would run until killed) and say "SECRET_KEY". With the key given, the
same gunicorn check passes, so the failures are the key's and nothing else's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 90  # a worker or beat that did start would run until this kills it

if (ROOT / ".env").is_file() and "SECRET_KEY" in (ROOT / ".env").read_text():
    pytestmark = pytest.mark.skip(
        reason="the checkout's .env sets SECRET_KEY, which settings.py reads itself"
    )


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(
        DEBUG="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",
        **extra,
    )
    return env


def _run(argv: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "web": [str(BIN / "gunicorn"), "--check-config", "cmi.wsgi:application"],
    "worker": [sys.executable, "-m", "celery", "-A", "cmi", "worker", "--pool=solo"],
    "beat": [sys.executable, "-m", "celery", "-A", "cmi", "beat", "--schedule", "{tmp}/beat"],
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_entry_point_refuses_to_start_without_secret_key_and_names_it(name, tmp_path):
    """With DEBUG=false and no SECRET_KEY the process exits with an error naming it."""
    argv = [part.replace("{tmp}", str(tmp_path)) for part in ENTRY_POINTS[name]]
    result = _run(argv, _environment(tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "SECRET_KEY is not set" in output, output


def test_the_web_entry_point_loads_when_the_key_is_given(tmp_path):
    """The control: the same gunicorn check passes with a key in the environment."""
    env = _environment(tmp_path, SECRET_KEY="k" * 60)
    result = _run(ENTRY_POINTS["web"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_empty_secret_key_counts_as_missing(tmp_path):
    """SECRET_KEY= (set but empty, as an unfilled .env line leaves it) is refused too."""
    env = _environment(tmp_path, SECRET_KEY="")
    result = _run(ENTRY_POINTS["manage.py"], env, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_make_run_keeps_one_random_owner_only_key_in_var(tmp_path, monkeypatch):
    """`make run`'s key: made on first use with mode 0600, the same key ever after."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_embedded", ROOT / "scripts/run_embedded.py")
    run_embedded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_embedded)
    monkeypatch.setattr(run_embedded, "KEY_FILE", tmp_path / "var" / "secret_key")

    first = run_embedded.embedded_secret_key()
    assert len(first) >= 50
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert run_embedded.embedded_secret_key() == first
