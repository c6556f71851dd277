"""`make run`: the whole platform on one machine with no servers to install.

Migrates the SQLite file, seeds the demo, then runs the web server (gunicorn), a
Celery worker and beat on kombu's filesystem broker, until Ctrl-C.

settings.py has no default SECRET_KEY. This is the one place that makes one: a random
key kept in var/secret_key (readable by the owner only) and passed to every process in
the environment; a SECRET_KEY already in the environment wins. `--print-key` prints it,
for the Makefile's other embedded verbs (worker, beat, seed, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


KEY_FILE = ROOT / "var" / "secret_key"
LOGINS_FILE = ROOT / "var" / "demo-logins.txt"
# Celery warns, at length, when its worker runs as root: the embedded broker carries
# JSON only, so on a demo box that is noise.
ROOT_WARNING_FILTER = "ignore:You're running the worker with superuser privileges"


def quiet_environment(environ: dict[str, str]) -> dict[str, str]:
    """The processes' environment: warnings and INFO chatter (request logs, "Pillow not
    found") off unless the caller asked for them with LOG_LEVEL or PYTHONWARNINGS."""
    env = dict(environ)
    env.setdefault("LOG_LEVEL", "WARNING")
    filters = [f for f in env.get("PYTHONWARNINGS", "").split(",") if f]
    if ROOT_WARNING_FILTER not in filters:
        env["PYTHONWARNINGS"] = ",".join([*filters, ROOT_WARNING_FILTER])
    return env


def process_commands(host: str, port: int, *, access_log: bool) -> dict[str, list[str]]:
    web = [
        str(BIN / "gunicorn"),
        "cmi.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        "2",
        "--log-level",
        "warning",
    ]
    if access_log:
        web += ["--access-logfile", "-"]
    return {
        "web": web,
        "worker": [
            str(BIN / "celery"),
            "-A",
            "cmi",
            "worker",
            "--loglevel=warning",
            "--concurrency=2",
        ],
        "beat": [str(BIN / "celery"), "-A", "cmi", "beat", "--loglevel=warning"],
    }


def logins_write(text: str, path: Path = LOGINS_FILE) -> None:
    """Keep the banner where a user can find it again (owner-only: it holds passwords)."""
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text.strip("\n") + "\n")


def wait_until_up(url: str, procs: dict[str, subprocess.Popen], seconds: float = 60) -> bool:
    """True once the web server answers; False if it did not in time or a process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url + "/login/", timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def embedded_secret_key() -> str:
    """The embedded default's signing key, made on first use and kept in var/."""
    if KEY_FILE.is_file():
        key = KEY_FILE.read_text().strip()
        if key:
            return key
    KEY_FILE.parent.mkdir(exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Created owner-only from the start, never world-readable for a moment.
    fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def banner(url: str, demo: dict) -> str:
    port = url.rsplit(":", 1)[-1]
    lines = ["", "=" * 72, f"CMI platform is running at {url}", f"  API docs:  {url}/api/docs/", ""]
    for vendor in demo["vendors"]:
        lines.append(f"Vendor {vendor['name']} ({vendor['code']})")
        lines.append(f"  ERP key:        {vendor['erp_key']}")
        for role, login in vendor["users"].items():
            lines.append(f"  {role:<18}{login['username']} / {login['password']}")
        for customer in vendor["customers"]:
            lines.append(f"  Customer {customer['name']} ({customer['release_policy']})")
            lines.append(f"    scanner token:  {customer['scanner_token']}")
            for role, login in customer["users"].items():
                lines.append(f"    {role:<18}{login['username']} / {login['password']}")
    lines += [
        "",
        "Try it:",
        f"  curl -s -H 'Authorization: Bearer {demo['vendors'][0]['erp_key']}' {url}/api/v1/orders",
        f"  PORT={port} make simulate   # scanners and ERPs over the HTTP API, another terminal",
        f"These logins are kept in {LOGINS_FILE.relative_to(ROOT)}. Ctrl-C stops everything.",
        "=" * 72,
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--print-key", action="store_true", help="print the key and exit")
    args = parser.parse_args()
    if args.print_key:
        print(embedded_secret_key())
        return 0
    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    if not os.environ.get("SECRET_KEY", "").strip():
        os.environ["SECRET_KEY"] = embedded_secret_key()  # inherited by every process below
    os.environ.update(quiet_environment(dict(os.environ)))
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    demo = json.loads(manage("seed_demo", "--json", capture=True))
    url = f"http://{args.host}:{args.port}"
    access_log = os.environ.get("ACCESS_LOG", "") not in ("", "0")
    commands = process_commands(args.host, args.port, access_log=access_log)
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    text = banner(url, demo)
    logins_write(text)
    print(text, flush=True)

    def stop(*_: object) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        # Start-up output scrolls the first banner away: show it again, last.
        if wait_until_up(url, procs):
            time.sleep(2)  # the worker and beat finish starting
            print(text, flush=True)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [name for name, p in procs.items() if p.poll() is not None]
        print(f"{', '.join(dead)} stopped; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
