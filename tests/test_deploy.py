"""The deployment files, read as text and checked against what the platform needs.

Proves, without Docker: docker-compose.yml has the seven services (postgres,
rabbitmq, redis, migrate, web, worker, beat) running the right commands, every long-running one
with a healthcheck, web starting only after migrations succeeded, and every app
process given its database and broker; the Dockerfile installs from uv.lock with
--frozen, copies every top-level package and runs as a non-root user;
.env.example lists every variable cmi/settings.py reads; and production
settings pass `manage.py check --deploy` with warnings treated as failures.

Does not prove that the image builds or that the stack starts: that needs a
Docker daemon, which this suite does not assume.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "cmi" / "settings.py"

SERVICES = {"postgres", "rabbitmq", "redis", "migrate", "web", "worker", "beat"}
APP_SERVICES = ("migrate", "web", "worker", "beat")
ROOT_USERS = {"root", "0"}


# --- helpers ---------------------------------------------------------------


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _argv(command) -> list[str]:
    """A compose command, string or list form, as the argv it runs."""
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.partition("=")[::2] for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _depends_on(service: dict) -> dict[str, str]:
    """Dependency name -> condition, short (list) form meaning service_started."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return {name: "service_started" for name in depends_on}
    return {
        name: (spec or {}).get("condition", "service_started") for name, spec in depends_on.items()
    }


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuations joined, comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also inside a continuation, as Docker does
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _settings_variables() -> set[str]:
    """Every name cmi/settings.py reads through env(...), env.bool(...) and the like."""
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z0-9_]+)[\"']", SETTINGS.read_text()))


# --- docker-compose.yml ----------------------------------------------------


def test_compose_defines_the_six_services():
    assert set(_services()) >= SERVICES


def test_web_runs_gunicorn_on_the_wsgi_application():
    argv = _argv(_services()["web"]["command"])
    assert argv[0] == "gunicorn"
    assert "cmi.wsgi:application" in argv
    assert "0.0.0.0:8000" in argv


def test_worker_and_beat_run_celery_for_the_cmi_app():
    services = _services()
    assert _argv(services["worker"]["command"])[:4] == ["celery", "-A", "cmi", "worker"]
    assert _argv(services["beat"]["command"])[:4] == ["celery", "-A", "cmi", "beat"]


def test_migrate_is_a_one_shot_migration():
    migrate = _services()["migrate"]
    assert _argv(migrate["command"])[-3:] == ["manage.py", "migrate", "--noinput"]
    assert str(migrate.get("restart", "no")) == "no"
    assert _depends_on(migrate)["postgres"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck():
    services = _services()
    # One-shot: what something waits on to have *completed*; everything else stays up.
    one_shot = {
        name
        for service in services.values()
        for name, condition in _depends_on(service).items()
        if condition == "service_completed_successfully"
    }
    assert one_shot == {"migrate"}
    for name, service in services.items():
        if name in one_shot:
            continue
        healthcheck = service.get("healthcheck") or {}
        test = healthcheck.get("test")
        assert test and not healthcheck.get("disable"), f"{name} has no healthcheck"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test is {test[0]}"
            # The exec form has no shell, so a $VARIABLE would reach the command verbatim.
            if test[0] == "CMD":
                assert not any("$" in part for part in test), f"{name}: $ in an exec-form test"


def test_web_starts_only_after_migrations_succeed():
    depends_on = _depends_on(_services()["web"])
    assert depends_on["migrate"] == "service_completed_successfully"
    assert depends_on["redis"] == "service_healthy"


def test_every_app_service_gets_its_database_rabbitmq_broker_and_redis_cache():
    """RabbitMQ is the broker (a killed worker's message is redelivered at once);
    Redis is the cache."""
    services = _services()
    for name in APP_SERVICES:
        environment = _environment(services[name])
        assert environment.get("DATABASE_URL", "").startswith("postgres://"), name
        assert environment.get("CELERY_BROKER_URL", "").startswith("amqp://"), name
        assert "@rabbitmq:5672" in environment["CELERY_BROKER_URL"], name
        assert environment.get("CACHE_URL", "").startswith("redis://redis:"), name


def test_app_services_run_as_a_role_row_level_security_binds():
    """Every app process switches to DATABASE_APP_ROLE, and the database image creates
    that role, neither superuser nor BYPASSRLS, when it initialises."""
    services = _services()
    roles = {_environment(services[name]).get("DATABASE_APP_ROLE") for name in APP_SERVICES}
    assert len(roles) == 1 and None not in roles
    (role,) = roles
    mounts = [str(v).split(":") for v in services["postgres"]["volumes"]]
    scripts = [
        ROOT / host
        for host, target, *_ in mounts
        if target.startswith("/docker-entrypoint-initdb.d/")
    ]
    sql = " ".join(path.read_text() for path in scripts).upper()
    assert f"CREATE ROLE {role.upper()}" in sql
    assert "NOSUPERUSER" in sql and "NOBYPASSRLS" in sql


def test_worker_and_beat_wait_for_rabbitmq():
    services = _services()
    assert services["rabbitmq"]["image"].startswith("rabbitmq:")
    for name in ("worker", "beat", "web"):
        assert _depends_on(services[name])["rabbitmq"] == "service_healthy", name


def test_web_sums_metrics_over_its_workers():
    web = _services()["web"]
    environment = _environment(web)
    assert environment["PROMETHEUS_MULTIPROC_DIR"] in " ".join(web.get("tmpfs", []))
    assert "METRICS_TOKEN" in environment


# --- Dockerfile ------------------------------------------------------------


def test_image_installs_dependencies_from_the_lock_file_frozen():
    instructions = _dockerfile()
    lock_copied = next(
        i for i, (kw, args) in enumerate(instructions) if kw == "COPY" and "uv.lock" in args.split()
    )
    synced = next(
        i for i, (kw, args) in enumerate(instructions) if kw == "RUN" and "uv sync" in args
    )
    assert lock_copied < synced
    sync_args = instructions[synced][1]
    assert "--frozen" in sync_args.split()
    assert "--no-dev" in sync_args.split()
    assert any(kw == "ENV" and "/app/.venv/bin" in args for kw, args in instructions[synced:]), (
        "the venv is not on PATH"
    )


def test_image_runs_as_a_non_root_user():
    instructions = _dockerfile()
    users = [i for i, (kw, _) in enumerate(instructions) if kw == "USER"]
    assert users, "no USER: the container would run as root"
    user = instructions[users[-1]][1].split(":")[0]
    assert user not in ROOT_USERS
    cmd = max(i for i, (kw, _) in enumerate(instructions) if kw == "CMD")
    assert users[-1] < cmd


def test_image_copies_every_top_level_package_and_serves_gunicorn():
    instructions = _dockerfile()
    copied = set()
    for kw, args in instructions:
        if kw == "COPY":
            sources = [token for token in args.split() if not token.startswith("--")][:-1]
            copied.update(source.strip("./") for source in sources)
    packages = {
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file() and path.name != "tests"
    }
    assert packages - copied == set(), "packages missing from the image"
    assert {"manage.py", "templates"} <= copied
    assert any(kw == "RUN" and "collectstatic" in args for kw, args in instructions)
    cmd = [args for kw, args in instructions if kw == "CMD"][-1]
    assert "gunicorn" in cmd and "cmi.wsgi:application" in cmd


# --- .env.example ------------------------------------------------------------


def test_env_example_lists_every_variable_settings_reads():
    listed = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    variables = _settings_variables()
    assert len(variables) > 10  # the pattern still finds them
    assert variables - listed == set()


# --- manage.py check --deploy ------------------------------------------------


def test_check_deploy_passes_with_production_settings():
    secret_key = secrets.token_urlsafe(45)
    assert len(secret_key) == 60
    # Start from nothing the settings read, so the caller's environment cannot mask a problem.
    env = {k: v for k, v in os.environ.items() if k not in _settings_variables()}
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cmi_check",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        SECRET_KEY=secret_key,
        DEBUG="false",
        ALLOWED_HOSTS="cmi.example.com",
        SECURE="true",
        SECURE_HSTS_SECONDS="31536000",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
