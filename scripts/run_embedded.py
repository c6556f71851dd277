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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


KEY_FILE = ROOT / "var" / "secret_key"


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
        "  make simulate      # scanners posting through the HTTP API, in another terminal",
        "Ctrl-C stops everything.",
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
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    demo = json.loads(manage("seed_demo", "--json", capture=True))
    url = f"http://{args.host}:{args.port}"
    commands = {
        "web": [
            str(BIN / "gunicorn"),
            "cmi.wsgi:application",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "cmi",
            "worker",
            "--loglevel=info",
            "--concurrency=2",
        ],
        "beat": [str(BIN / "celery"), "-A", "cmi", "beat", "--loglevel=info"],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    time.sleep(2)
    print(banner(url, demo), flush=True)

    def stop(*_: object) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
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
