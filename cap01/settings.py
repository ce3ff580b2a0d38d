"""Django settings for CAP-01.

Everything that differs between machines comes from the environment, with safe local defaults
(SQLite, Neo4j and Redis on 127.0.0.1 as started by ops/services.sh). Outside DEBUG, placeholder
secrets are refused. Core code never reads os.environ: it gets explicit values from here.
"""

from __future__ import annotations

import hashlib as _hashlib
import hmac as _hmac
import os
from pathlib import Path
from typing import overload
from urllib.parse import quote

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from contracts import EnvelopeKeyError, EnvelopeKeys
from contracts.stages import DEFAULT_BUDGETS, STAGE_TABLE

BASE_DIR = Path(__file__).resolve().parent.parent


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    """The variable's value; `default` when it is unset or empty."""
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return default if value is None else int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc


def env_float(name: str, default: float) -> float:
    value = env(name)
    try:
        return default if value is None else float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from exc


DEBUG = env_bool("DJANGO_DEBUG", True)
_PLACEHOLDER_SECRET = "insecure-local-development-key-do-not-use-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", _PLACEHOLDER_SECRET)
if not DEBUG and (SECRET_KEY == _PLACEHOLDER_SECRET or len(SECRET_KEY or "") < 32):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 32 characters when "
        "DJANGO_DEBUG is off."
    )
if not DEBUG:  # behind TLS in production: cookies only over HTTPS, HSTS on
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("CAP01_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = env_int("CAP01_HSTS_SECONDS", 3600)
    SECURE_CONTENT_TYPE_NOSNIFF = True
ALLOWED_HOSTS = (env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver") or "").split(",")

INSTALLED_APPS = [
    "cap01.apps.Cap01AdminConfig",  # django.contrib.admin with cap01.admin.Cap01AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from the app (no CDN), pinned
    "django_prometheus",
    "django_neomodel",
    "orchestration",
    "graphstore",
    "tools",  # dev tooling: bench_persist, loadtest, generate_examples (not imported by the apps)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE before anything reads it (parsers, CSRF).
    "orchestration.api.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "cap01.urls"
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
WSGI_APPLICATION = "cap01.wsgi.application"

# Django's own database: SQLite by default, PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}") or "", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: wait for locks, take write locks up front, WAL.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The tests' database is a file too, so that a real Celery worker process can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(DATABASES["default"]["NAME"]).with_name(
        "test_" + Path(DATABASES["default"]["NAME"]).name))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Files served at the site's root by the app itself (whitenoise), DEBUG or not: the favicon.
WHITENOISE_ROOT = BASE_DIR / "public"
LOGIN_URL = "/login/"

# Request bodies: 2 MB is far above any valid run (500 graph elements, blob-sized cypherCommands
# excepted) and keeps hostile bodies out.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("CAP01_MAX_BODY_BYTES", 2 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orchestration.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CAP-01 Orchestration API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs need a login like the rest of the API (token or session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's files come from drf-spectacular-sidecar's static files (a pinned release),
    # not from a CDN at @latest: /api/docs/ works without internet and does not change by itself.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One named enum component per choice set, referenced everywhere (answers and query
    # parameters): orchestration/api/schema.py. The component lists the values; no prose copy.
    "POSTPROCESSING_HOOKS": ["orchestration.api.schema.name_enums",
                             "drf_spectacular.hooks.postprocess_schema_enums"],
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
}

# --- Neo4j ------------------------------------------------------------------------------------
SERVICES_DIR = Path(env("CAP01_SERVICES_DIR", str(BASE_DIR / ".services" / "dev")) or "")


def _neo4j_password() -> str:
    password = env("NEO4J_PASSWORD")
    if password:
        return password
    local = SERVICES_DIR / "neo4j" / "password"  # generated by ops/services.sh for local use
    if DEBUG and local.exists():
        return local.read_text().strip()
    if DEBUG:
        return ""
    raise ImproperlyConfigured("NEO4J_PASSWORD must be set when DJANGO_DEBUG is off.")


NEO4J_URI = env("NEO4J_URI", f"bolt://127.0.0.1:{env_int('NEO4J_BOLT_PORT', 7687)}") or ""
NEO4J_USER = env("NEO4J_USER", "neo4j") or ""
NEO4J_PASSWORD = _neo4j_password()
NEO4J_DATABASE = env("NEO4J_DATABASE", "neo4j") or ""
_scheme, _, _hostport = NEO4J_URI.partition("://")
# A PEM file of the certificate authorities to trust for a TLS URI (neo4j+s://, bolt+s://)
# instead of the system's: a private CA. The drivers (graphstore/connection.py, and neomodel's
# through graphstore/apps.py) then connect with encryption on and exactly these CAs trusted.
NEO4J_TRUSTED_CA = env("NEO4J_TRUSTED_CA")
if NEO4J_TRUSTED_CA is not None:
    if _scheme not in {"neo4j+s", "bolt+s"}:
        raise ImproperlyConfigured(
            f"NEO4J_TRUSTED_CA is for the TLS schemes neo4j+s:// and bolt+s://, but NEO4J_URI "
            f"is {_scheme}://; use a +s scheme or unset NEO4J_TRUSTED_CA.")
    if not Path(NEO4J_TRUSTED_CA).is_file():
        raise ImproperlyConfigured(
            f"NEO4J_TRUSTED_CA: no file at {NEO4J_TRUSTED_CA}; give the path of a PEM file of "
            "CA certificates.")
# neomodel / django-neomodel take one URL with the credentials in it. With NEO4J_TRUSTED_CA,
# neomodel gets the scheme without "+s" (it only passes its TLS options to such a URL) and
# encryption with those CAs from graphstore/apps.py.
_neomodel_scheme = _scheme.removesuffix("+s") if NEO4J_TRUSTED_CA else _scheme
NEOMODEL_NEO4J_BOLT_URL = (
    f"{_neomodel_scheme}://{quote(NEO4J_USER, safe='')}:{quote(NEO4J_PASSWORD, safe='')}@"
    f"{_hostport}/{NEO4J_DATABASE}"
)
NEOMODEL_SIGNALS = False
NEOMODEL_FORCE_TIMEZONE = True

# The transactional writer's retry policy (design section 5.3): attempts, exponential backoff
# with full jitter, retryable errors only. The driver's own 30 s retry budget is switched off.
CAP01_WRITE_MAX_ATTEMPTS = env_int("CAP01_WRITE_MAX_ATTEMPTS", 3)
CAP01_WRITE_BACKOFF_BASE_S = env_float("CAP01_WRITE_BACKOFF_BASE_S", 0.05)
CAP01_WRITE_BACKOFF_MAX_S = env_float("CAP01_WRITE_BACKOFF_MAX_S", 1.0)
CAP01_NEO4J_CONNECTION_TIMEOUT_S = env_float("CAP01_NEO4J_CONNECTION_TIMEOUT_S", 5.0)
# Retrieval's per-run embedding (graphstore/embedding.py): "composition" (offline, the default)
# or "http" (an external model service at CAP01_EMBEDDER_URL).
CAP01_EMBEDDER = env("CAP01_EMBEDDER", "composition") or "composition"
CAP01_EMBEDDER_URL = env("CAP01_EMBEDDER_URL")
CAP01_EMBEDDER_TIMEOUT_S = env_float("CAP01_EMBEDDER_TIMEOUT_S", 10.0)
# Retrieval's bounds (graphstore/retrieval.py SIMILAR_CANDIDATES, FULLTEXT_FANOUT; 0 = exact):
# composition for a run scores the recipes of this many nearest runs by the vector index; a
# full-text hit shared by more runs than the fanout reaches the newest that many of the scope.
CAP01_SIMILAR_CANDIDATES = env_int("CAP01_SIMILAR_CANDIDATES", 500)
CAP01_FULLTEXT_FANOUT = env_int("CAP01_FULLTEXT_FANOUT", 200)

# Large artifacts (design section 5.6): file:///abs/dir (default) or s3://bucket/prefix.
CAP01_BLOB_STORE_URL = env("CAP01_BLOB_STORE_URL", f"file://{BASE_DIR / 'var' / 'blobs'}") or ""
CAP01_S3_ENDPOINT_URL = env("CAP01_S3_ENDPOINT_URL")
CAP01_S3_REGION = env("CAP01_S3_REGION", "us-east-1") or "us-east-1"

# --- Celery / Redis ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", f"redis://127.0.0.1:{env_int('REDIS_PORT', 6379)}/0") or ""
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CAP01_VISIBILITY_TIMEOUT_S", 300)}
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes every database connection before and after every task unless
# this is set: each run's task then opened a new connection (PostgreSQL: a backend started,
# ~20 ms of every run's queue wait). Connections are kept instead and handled as Django
# handles them between requests (cap01/celery.py: close_old_connections around each task,
# which replaces a broken one and honours CONN_MAX_AGE); Celery still recycles them every
# this many tasks.
CELERY_DB_REUSE_MAX = 1000
# Celery 5.7 / kombu 5.7: with remote control on, a worker can exit ("'NoneType' object has no
# attribute 'hostname'") while it tears down a connection Redis dropped; nothing here uses
# `celery inspect` or `control`, so it is off (tests/resilience/test_redis_faults.py).
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
# Publishing (a stage handing on to the next) retries across a Redis restart of a few seconds
# instead of the default ~0.6 s; what still fails is recovered by the outbox reconciler.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 10, "interval_start": 0.2,
                                    "interval_step": 0.5, "interval_max": 2.0}

# One JSON object per line (CAP01_LOG_FORMAT=plain for people reading a terminal); Python
# warnings become log lines too (cap01.logs.configure). Django's own handlers (a plain console
# handler in DEBUG) are replaced: its records reach the root handler like every other.
LOGGING_CONFIG = "cap01.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "cap01.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": env("CAP01_LOG_FORMAT", "json")}},
    "root": {"handlers": ["console"], "level": env("CAP01_LOG_LEVEL", "INFO")},
    "loggers": {"neo4j": {"level": "WARNING"},
                "django": {"handlers": [], "level": "INFO", "propagate": True},
                "django.server": {"handlers": ["console"], "propagate": False}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs JSON through LOGGING too
CAP01_WORKER_METRICS_PORT = env_int("CAP01_WORKER_METRICS_PORT", 9808)

# --- Agents and the pipeline ------------------------------------------------------------------
# A dotted path per stage: point one at your own class (an LLM-backed agent, say) to plug it in.
CAP01_AGENTS = {stage.agent: env(stage.env_var, stage.default_agent) for stage in STAGE_TABLE}
# How long a hand-off envelope stays valid between two stages.
CAP01_HANDOFF_TTL_S = env_int("CAP01_HANDOFF_TTL_S", 300)


def _envelope_keys() -> EnvelopeKeys:
    """The HMAC keys of hand-off envelopes, from CAP01_ENVELOPE_KEYS ("id:secret,id:secret",
    the first signs, all verify: put a new key first and drop the old one after
    CAP01_HANDOFF_TTL_S). Every web and worker process needs the same list. In DEBUG without
    it, a development key derived from SECRET_KEY; outside DEBUG it is required."""
    value = env("CAP01_ENVELOPE_KEYS")
    if value:
        try:
            return EnvelopeKeys.parse(value)
        except EnvelopeKeyError as exc:
            raise ImproperlyConfigured(f"CAP01_ENVELOPE_KEYS: {exc}") from exc
    if DEBUG:
        derived = _hmac.new(SECRET_KEY.encode("utf-8"), b"cap01 hand-off envelope key",
                            _hashlib.sha256).hexdigest()
        return EnvelopeKeys((("dev", derived.encode("ascii")),))
    raise ImproperlyConfigured(
        "CAP01_ENVELOPE_KEYS must be set when DJANGO_DEBUG is off: id:secret pairs separated by "
        "commas, the signing key first, each secret at least 32 random bytes (the same list in "
        "every web and worker process).")


CAP01_ENVELOPE_KEYS = _envelope_keys()
# How the stages reach the workers: "inline" (default) runs a run's five stages one after the
# other in one worker process, then writes it (a hand-off is a ledger write, not a broker round
# trip); "chain" sends one task per stage (stages may run on different workers or be routed to
# their own queues), at a broker round trip per hand-off. README "Where the time goes".
CAP01_PIPELINE_MODE = env("CAP01_PIPELINE_MODE", "inline")
# Inline: how often a run's per-stage progress is written to the ledger while it runs (at its
# start, then at most this often; every stage's result is written with the finished run).
CAP01_PROGRESS_INTERVAL_MS = env_int("CAP01_PROGRESS_INTERVAL_MS", 250)
if CAP01_PIPELINE_MODE not in ("inline", "chain"):
    raise ImproperlyConfigured(
        f"CAP01_PIPELINE_MODE must be inline or chain, got {CAP01_PIPELINE_MODE!r}.")

# --- Budgets (design section 7) -----------------------------------------------------------------
# (duration ms, memory MB) per stage, the persistence transaction and the whole run. Stage memory
# is the stage's tracemalloc peak; the run's is the worker process's peak RSS. Override any row
# with CAP01_BUDGETS='{"QAValidator": [400, 80]}'.
CAP01_BUDGETS: dict[str, tuple[float, float]] = dict(DEFAULT_BUDGETS)  # contracts/stages.py
_budget_overrides = env("CAP01_BUDGETS")
if _budget_overrides:
    import json as _json

    try:
        for _stage, (_ms, _mb) in _json.loads(_budget_overrides).items():
            if _stage not in CAP01_BUDGETS:
                raise ValueError(f"unknown stage {_stage!r}")
            CAP01_BUDGETS[_stage] = (float(_ms), float(_mb))
    except (ValueError, TypeError) as _exc:
        raise ImproperlyConfigured(
            f"CAP01_BUDGETS must map stage names to [ms, MB], e.g. "
            f'{{"QAValidator": [400, 80]}}: {_exc}') from _exc
# Strict: a stage that breaks its budget fails (the partial run is persisted as failed).
CAP01_BUDGET_STRICT = env_bool("CAP01_BUDGET_STRICT", False)
# The share of runs whose stages and write are traced for memory (tracemalloc), drawn per runId.
# Tracing slows what it measures (a write ~2x), so the durations (and their budget verdicts) come
# from the other runs; the memory verdicts from these. Strict budgets trace every run.
CAP01_MEMORY_SAMPLE_RATE = env_float("CAP01_MEMORY_SAMPLE_RATE", 0.1)

# --- Plausible batch sizes (the QAValidator's batch_plausibility check) ------------------------
# A [low, high] range per unit; the defaults (orchestration/agents/limits.py) span 0.1 g (0.1 ml)
# to 100 t (100 m³) in every unit. Override units with CAP01_BATCH_LIMITS='{"kg": [0.5, 20000]}'.
# Outside its range a size is an error; beyond it by CAP01_BATCH_CRITICAL_FACTOR, critical.
CAP01_BATCH_LIMITS: dict[str, list[float]] = {}
_batch_limits = env("CAP01_BATCH_LIMITS")
if _batch_limits:
    import json as _json

    try:
        CAP01_BATCH_LIMITS = _json.loads(_batch_limits)
        if not isinstance(CAP01_BATCH_LIMITS, dict):
            raise ValueError("expected a JSON object")
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f'CAP01_BATCH_LIMITS must map units to [low, high], e.g. {{"kg": [0.5, 20000]}}: '
            f"{_exc}") from _exc
CAP01_BATCH_CRITICAL_FACTOR = env_float("CAP01_BATCH_CRITICAL_FACTOR", 1000.0)
try:  # refused at start-up, not at the first run
    from orchestration.agents.limits import batch_limits as _check_batch_limits

    _check_batch_limits(CAP01_BATCH_LIMITS, CAP01_BATCH_CRITICAL_FACTOR)
except ValueError as _exc:
    raise ImproperlyConfigured(f"CAP01_BATCH_LIMITS / CAP01_BATCH_CRITICAL_FACTOR: {_exc}") \
        from _exc

# --- Backpressure (design section 7) -----------------------------------------------------------
CAP01_MAX_CONCURRENT_RUNS = env_int("CAP01_MAX_CONCURRENT_RUNS", 3)  # across all workers
CAP01_QUEUE_LIMIT = env_int("CAP01_QUEUE_LIMIT", 50)  # waiting runs; beyond: HTTP 429
CAP01_SLOT_TTL_S = env_float("CAP01_SLOT_TTL_S", 120.0)  # a crashed run's slot frees after this
CAP01_MEMORY_HIGH_WATER = env_float("CAP01_MEMORY_HIGH_WATER", 0.8)  # of the run memory budget
CAP01_RETRY_AFTER_S = env_int("CAP01_RETRY_AFTER_S", 5)
# The dispatcher also runs periodically (Celery beat), so queued runs start even when nothing
# else happens (say after a crashed run's slot expired).
CELERY_BEAT_SCHEDULE = {
    "dispatch-queued-runs": {"task": "orchestration.dispatch", "schedule": 5.0},
    "reconcile-outbox": {"task": "orchestration.reconcile_outbox", "schedule": 10.0},
    "gc-blobs": {"task": "orchestration.gc_blobs", "schedule": 3600.0},
    "condense-runs": {"task": "orchestration.condense_runs", "schedule": 3600.0},
    "analytics-rollups": {"task": "orchestration.analytics_rollups", "schedule": 600.0},
}
# Analytics over whole closed UTC days read daily rollups (orchestration/services/rollups.py):
# off, every window is read from the raw runs. The periodic job keeps the last
# CAP01_ANALYTICS_ROLLUP_DAYS days rolled up (older windows are read raw).
CAP01_ANALYTICS_ROLLUPS = env_bool("CAP01_ANALYTICS_ROLLUPS", True)
CAP01_ANALYTICS_ROLLUP_DAYS = env_int("CAP01_ANALYTICS_ROLLUP_DAYS", 120)

# --- Privacy (design section 10) ----------------------------------------------------------------
# Raw agent prompts and responses (from agents that return orchestration.agents.AgentOutput) are
# NOT stored unless this is on; when on, every pattern below is replaced by [REDACTED] first.
CAP01_STORE_TRANSCRIPTS = env_bool("CAP01_STORE_TRANSCRIPTS", False)
CAP01_REDACT_PATTERNS: list[str] = [
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",  # e-mail addresses
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+",  # bearer tokens
    r"(?i)\b(?:sk|pk|api|key|token|secret)[-_][A-Za-z0-9_-]{8,}",  # API keys
    r"\+?\d[\d\s().-]{8,}\d",  # phone numbers
]
_redact_override = env("CAP01_REDACT_PATTERNS")
if _redact_override:
    import json as _json
    import re as _re

    try:
        CAP01_REDACT_PATTERNS = [str(p) for p in _json.loads(_redact_override)]
        for _pattern in CAP01_REDACT_PATTERNS:
            _re.compile(_pattern)
    except (ValueError, TypeError, _re.error) as _exc:
        raise ImproperlyConfigured(
            f"CAP01_REDACT_PATTERNS must be a JSON list of regular expressions: {_exc}") from _exc
