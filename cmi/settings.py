"""One settings module, configured from the environment (see .env.example).

With no environment at all this is the embedded default: an SQLite file and
kombu's filesystem broker under var/, so `make run` needs no server.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# No default: a process without SECRET_KEY refuses to start (web, worker, beat and
# manage.py all import these settings). `make run` makes a random key in var/ and
# passes it in the environment; the tests get theirs from pytest-env (pyproject.toml).
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY.strip():
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: set the SECRET_KEY environment variable to 50 or more random "
        "characters (python -c 'import secrets; print(secrets.token_urlsafe(50))'). "
        "`make run` keeps one for the embedded default in var/secret_key."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "cmi",
    "catalog",
    "stocking",
    "replenishment",
    "edi",
    "insight",
    "notify",
    "webhooks",
    "portals",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Each request starts with no vendor; the resolved scope sets one (cmi/rls.py).
    "cmi.middleware.TenantMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before anything reads the body: an oversized one is a JSON 413 under /api/.
    "cmi.body_limits.ApiBodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the request into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cmi.urls"
WSGI_APPLICATION = "cmi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cmi.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "cmi.dbbackends.sqlite3"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30}
    )
    # A file, not memory, so a worker process can share the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env("TEST_SQLITE_PATH", default=str(VAR_DIR / "test.sqlite3"))
    }
else:
    # The app role and the tenant of each piece of work (cmi/rls.py).
    DATABASES["default"]["ENGINE"] = "cmi.dbbackends.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# django-axes: five wrong passwords for one username from one address lock that pair
# out for 15 minutes (the API's token login included: it authenticates with the request).
# Keyed on the pair so that one guesser cannot lock a user out from everywhere.
AUTHENTICATION_BACKENDS = [
    "cmi.auth_backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Proxies in front of gunicorn trusted to append to X-Forwarded-For. Throttles and the
# login lockout key on the client address; with 0 that is REMOTE_ADDR, so a client
# cannot pick its own key with a forged header.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "portals/auth/lockout.html"
if NUM_PROXIES:
    # Behind proxies the socket address is the proxy's: take the client from the
    # header the trusted proxies wrote, or one user's failures would lock out all.
    AXES_IPWARE_PROXY_COUNT = NUM_PROXIES
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Mail (password resets, alerts): printed to the console unless the environment names
# a real backend. In production EMAIL_URL (smtp+tls://user:pass@host:587) or the
# EMAIL_HOST/EMAIL_PORT/EMAIL_HOST_USER/EMAIL_HOST_PASSWORD/EMAIL_USE_TLS settings.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
elif env("EMAIL_HOST", default=""):
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CMI alerts <alerts@localhost>")

# Alerts (notify/): links in mails, the flapping window, the hourly cap per user,
# and the periodic checks' thresholds.
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", default="http://localhost:8000")
NOTIFY_DEDUP_HOURS = env.int("NOTIFY_DEDUP_HOURS", default=6)
NOTIFY_MAILS_PER_HOUR = env.int("NOTIFY_MAILS_PER_HOUR", default=20)
NOTIFY_BELOW_MIN_HOURS = env.int("NOTIFY_BELOW_MIN_HOURS", default=24)
NOTIFY_APPROVAL_HOURS = env.int("NOTIFY_APPROVAL_HOURS", default=8)
NOTIFY_SCANNER_SILENT_HOURS = env.int("NOTIFY_SCANNER_SILENT_HOURS", default=24)

# --- security: production turns these on through the environment ---
SECURE_SSL_REDIRECT = env.bool(
    "SECURE_SSL_REDIRECT", default=not DEBUG and env.bool("SECURE", default=False)
)
SESSION_COOKIE_SECURE = env.bool("SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("SECURE", default=False)
# HSTS comes with SECURE (a year, subdomains, preload: what `check --deploy` asks for);
# SECURE_HSTS_SECONDS=0 turns it off for a site that cannot commit to HTTPS yet.
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31_536_000 if env.bool("SECURE", default=False) else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- production posture: CSP, the favicon, password-reset limits ---
# Content-Security-Policy on every response (django-csp): scripts and styles only from
# our own static files, no inline script or style, no third-party origin. htmx is
# configured by a <meta> tag (no eval, no injected <style>), the API docs use
# drf-spectacular's split Swagger view with the assets of drf-spectacular-sidecar.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],  # Swagger UI's icons are data: URIs in its CSS
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_NONE],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}
# Files served at the site's root by WhiteNoise: /favicon.ico.
WHITENOISE_ROOT = BASE_DIR / "portals" / "root"
# Password reset mails: per submitted address and per client address, within a window
# (cmi/ratelimit.py). Fails closed when the cache cannot count: see that module.
PASSWORD_RESET_LIMITS = {"address": (3, 3600), "client": (20, 3600)}

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cmi.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cmi.permissions.HasScope"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "cmi.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "cmi.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth_token": env("AUTH_TOKEN_RATE", default="10/min")},
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": [
        "cmi.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Throttles key on REMOTE_ADDR unless this many proxies in front are trusted to
    # set X-Forwarded-For; otherwise a client could pick its own key.
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CMI platform API",
    "DESCRIPTION": "Customer-managed inventory: scanners post scans, orders come out.",
    "VERSION": "1.0.0",
    # 3.1 for the `webhooks` section: what we POST to receivers, one entry per event kind.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "webhooks.schema.WEBHOOKS",
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN, and no
    # call to the public validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "/favicon.ico",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cmi.schema_hooks.strip_backend_integer_bounds",
        "cmi.schema_hooks.document_generic_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "replenishment.models.OrderStatus",
        "MovementKindEnum": "stocking.models.MovementKind",
        "CrossReferenceKindEnum": "catalog.models.CrossReferenceKind",
        "ScanStatusEnum": ["accepted", "duplicate", "rejected"],
        "ScanKindEnum": ["receive", "issue", "count", "weight", "kanban"],
        "OrderEventKindEnum": "replenishment.models.OrderEventKind",
        "ReleasePolicyEnum": "cmi.models.ReleasePolicy",
        "EventKindEnum": "cmi.events.KIND_CHOICES",
        "ScorecardMetricEnum": "insight.scorecard.metrics.METRIC_CHOICES",
        "AlertThresholdKindEnum": "notify.models.ThresholdKind",
        "AlertThresholdSourceEnum": ["customer", "vendor", "default"],
        # The settings history's `source` keeps its name beside the thresholds' own.
        "SourceEnum": ["api", "portal", "import", "adjust", "create", "admin", "recommendation"],
    },
}

# --- Celery ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="cmi")
# Work kinds on queues of their own, named "<default queue>.<kind>", so each can get
# its own workers (docs/scaling.md): `celery -A cmi worker -Q cmi.ingest`. A worker
# started without -Q consumes every queue below: the embedded default and the compose
# file run one worker for all of it. cmi.celery.route_by_work applies this map.
CELERY_WORK_QUEUES = {
    # the follow-up of a scan post: small, latency-bound (scan -> 850)
    "replenishment.tasks.evaluate_bins": "ingest",
    # evaluation in bulk: the sweep, the catch-up pass, recommended levels
    "replenishment.tasks.sweep_bins": "evaluate",
    "replenishment.tasks.catch_up_bins": "evaluate",
    "insight.tasks.recommendations_refresh": "evaluate",
    "insight.tasks.recommendations_compute_customer": "evaluate",
    "insight.tasks.backtest_run": "evaluate",
    # documents to and from the vendors' ERPs
    "replenishment.tasks.release_due_orders": "edi",
    "edi.tasks.flag_overdue": "edi",
    # domain events to their listeners (notifications, webhooks)
    "cmi.tasks.events_dispatch": "notify",
    "cmi.tasks.events_catch_up": "notify",
}
CELERY_TASK_QUEUES = [
    Queue(name)
    for name in (
        CELERY_TASK_DEFAULT_QUEUE,
        *sorted({f"{CELERY_TASK_DEFAULT_QUEUE}.{k}" for k in CELERY_WORK_QUEUES.values()}),
    )
]
CELERY_TASK_ROUTES = ("cmi.celery.route_by_work",)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connections after this many tasks; unset,
# it closes them before and after every task (a new connection per task). Between
# tasks they are tidied as between requests (cmi.celery._db_connections_tidy).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast: scans are accepted even while the broker is down,
# and the sweep picks up what was not enqueued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SWEEP_MINUTES = env.int("SWEEP_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = {
    "replenishment-sweep": {
        "task": "replenishment.tasks.sweep_bins",
        "schedule": crontab(minute=f"*/{SWEEP_MINUTES}"),
    },
    "replenishment-release-scheduled": {
        "task": "replenishment.tasks.release_due_orders",
        "schedule": crontab(minute="*"),
    },
    "edi-flag-overdue": {"task": "edi.tasks.flag_overdue", "schedule": crontab(minute="*/15")},
    # Recommended levels: weekly by default; only bins whose history moved are recomputed.
    "insight-recommend": {
        "task": "insight.tasks.recommendations_refresh",
        "schedule": crontab(
            minute=0, hour=3, day_of_week=env("RECOMMEND_DAY_OF_WEEK", default="sun")
        ),
    },
    # The scorecard's month just ended, stored per customer: hourly on the 1st and 2nd,
    # so a month ends in every customer's own time zone before it is taken.
    "insight-scorecard-snapshot": {
        "task": "insight.scorecard.tasks.scorecard_snapshot_last_month",
        "schedule": crontab(minute=20, day_of_month="1,2"),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Scan API limits
SCAN_BATCH_MAX = 1000
SCAN_MAX_QUANTITY = 1_000_000
SCAN_FUTURE_TOLERANCE_SECONDS = env.int("SCAN_FUTURE_TOLERANCE_SECONDS", default=300)
RFID_CYCLE_MAX_EPCS = 1000  # EPC reads in one RFID read cycle

# --- outages and observability (issue 8 §2; README "Outages") ---
# A publish gets one connection attempt of this many seconds, then the breaker skips
# the broker for BROKER_BREAKER_SECONDS; the catch-up pass orders what was not sent.
BROKER_PUBLISH_TIMEOUT = env.float("BROKER_PUBLISH_TIMEOUT", default=0.25)
BROKER_BREAKER_SECONDS = env.float("BROKER_BREAKER_SECONDS", default=5.0)
CATCH_UP_OVERLAP_SECONDS = env.int("CATCH_UP_OVERLAP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["replenishment-catch-up"] = {
    "task": "replenishment.tasks.catch_up_bins",
    "schedule": crontab(minute="*"),
}
# Domain events (cmi/events.py): the listeners every event is handed to after commit,
# as dotted paths. The one registry; apps above the emitters add theirs here.
DOMAIN_EVENT_LISTENERS: tuple[str, ...] = (
    "notify.services.event_hear",
    "webhooks.listeners.on_event",
)
CELERY_BEAT_SCHEDULE["events-catch-up"] = {
    "task": "cmi.tasks.events_catch_up",
    "schedule": crontab(minute="*"),
}
CELERY_BEAT_SCHEDULE["notify-checks"] = {
    "task": "notify.tasks.checks_run",
    "schedule": crontab(minute="*/15"),
}
CELERY_BEAT_SCHEDULE["notify-digest"] = {
    "task": "notify.tasks.digests_send",
    "schedule": crontab(minute=0, hour=env.int("NOTIFY_DIGEST_HOUR", default=6)),
}
CELERY_BEAT_SCHEDULE["notify-mail-catch-up"] = {
    "task": "notify.tasks.emails_catch_up",
    "schedule": crontab(minute="*/5"),
}

# --- outbound webhooks (webhooks/; README "Webhooks") ---
# Private, loopback, link-local and reserved addresses are refused (SSRF) unless this
# is set: development and tests only, never in production.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=5.0)
# Seconds to wait after each failed attempt (then the delivery fails): 9 attempts
# over 27 h 36 min; an endpoint with no success in all that time is disabled.
WEBHOOKS_RETRY_SCHEDULE = (5, 60, 300, 1800, 7200, 18000, 36000, 36000)
CELERY_BEAT_SCHEDULE["webhooks-deliveries-due"] = {
    "task": "webhooks.tasks.deliveries_due",
    "schedule": crontab(minute="*"),
}
# A lost broker connection cancels the late-acked tasks it carried; they are
# redelivered (RabbitMQ at once, Redis after visibility_timeout) and are idempotent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
DATABASE_RETRY_AFTER_SECONDS = env.int("DATABASE_RETRY_AFTER_SECONDS", default=10)
# The engine was swapped for cmi.dbbackends.postgresql above: test the project's name.
if DATABASES["default"]["ENGINE"] == "cmi.dbbackends.postgresql":
    # A database that does not answer fails the request fast (a 503), not in minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "cmi.cache.FailSafeRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
    )
MIDDLEWARE.insert(0, "cmi.requestid.RequestIdMiddleware")
# /metrics answers 404 unless the scraper sends `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
LOGGING["filters"] = {"request_id": {"()": "cmi.requestid.RequestIdFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["request_id"]
if env("LOG_FORMAT", default="json") == "json":
    LOGGING["formatters"] = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    }
    LOGGING["handlers"]["console"]["formatter"] = "json"
# Usage analytics (insight/analytics): the daily aggregates follow the ledger; each run
# redoes the days of the rows written since the last, so today's row is at most this old.
USAGE_DAILY_MINUTES = env.int("USAGE_DAILY_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["usage-daily"] = {
    "task": "insight.usage_daily_catch_up",
    "schedule": crontab(minute=f"*/{USAGE_DAILY_MINUTES}"),
}
# The scorecard's current month so far, stored for the pages (which show its age).
SCORECARD_CURRENT_MINUTES = env.int("SCORECARD_CURRENT_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["insight-scorecard-current"] = {
    "task": "insight.scorecard.tasks.scorecard_current_refresh",
    "schedule": crontab(minute=f"*/{SCORECARD_CURRENT_MINUTES}"),
}
