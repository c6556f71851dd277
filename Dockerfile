# syntax=docker/dockerfile:1
# One image for every process: web (the default CMD), migrate, worker and beat
# (docker-compose.yml overrides the command). Configuration comes from the
# environment at run time; see .env.example.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# The uv that wrote uv.lock.
RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first, from the lock file only, so code changes reuse this layer.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

ENV PATH=/app/.venv/bin:$PATH

# The code, named one by one so that a local .venv, var/, .env or .git never
# reaches the image. A new top-level package needs a line here
# (tests/test_deploy.py checks).
COPY manage.py ./
COPY cmi ./cmi
COPY catalog ./catalog
COPY stocking ./stocking
COPY replenishment ./replenishment
COPY portals ./portals
COPY edi ./edi
COPY insight ./insight
COPY notify ./notify
COPY webhooks ./webhooks
COPY templates ./templates

# Static files are collected into the image; WhiteNoise serves them. The key
# and broker here exist only for this step (the memory broker keeps settings
# from creating var/broker in the image).
RUN SECRET_KEY=collectstatic-at-build-time-only-not-a-secret \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput

# Code and static files stay root-owned and read-only to the app; the process
# can write only to /tmp (celery beat keeps its schedule file there).
RUN groupadd --system --gid 10001 cmi \
    && useradd --system --uid 10001 --gid cmi --home-dir /app --no-create-home cmi
USER 10001:10001

EXPOSE 8000
CMD ["gunicorn", "cmi.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
