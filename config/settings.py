"""Concord settings. Everything that differs between machines comes from the environment."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_htmx",
    "template_partials",
    "apps.core",
    "apps.catalog",
    "apps.inventory",
    "apps.customers",
    "apps.orders",
    "apps.returns",
    "apps.reports",
    "apps.connectors",
    "apps.backoffice",
    "apps.demo",
    "apps.emulators",
]

MIDDLEWARE = [
    "apps.core.edge.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "apps.backoffice.navigation.navigation",
            ],
        },
    },
]

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from config.embedded_pg import embedded_database_url

    DATABASES = {"default": env.db_url_config(embedded_database_url())}
DATABASES["default"].setdefault("OPTIONS", {})
# A request waiting on a lock (a concurrent request with the same idempotency key, a
# hot stock row) gives up after this long instead of piling up.
DATABASES["default"]["OPTIONS"].setdefault(
    "options", f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=10000)}"
)
# Server-side binding lets psycopg prepare the statements every order repeats.
DATABASES["default"]["OPTIONS"].setdefault(
    "server_side_binding", env.bool("DB_SERVER_SIDE_BINDING", default=True))
# Two suites at once on one server (a second checkout, a helper) each need their own.
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.core.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.strict_json.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Concord API",
    "DESCRIPTION": "The one order contract every channel writes through.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "apps.core.openapi.document_edge"],
}

# django-q2: the ORM broker on the same Postgres. Tasks only execute claims recorded in
# our own tables, so a task that runs twice is harmless (see DESIGN.md).
Q_CLUSTER = {
    "name": "concord",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=4),
    # The sync loop runs ~80 s per scheduled start; timeout < retry as DESIGN.md requires.
    "timeout": 110,
    "retry": 140,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": 1000,
}

# Processes running the sync loop: each paces its calls to 1/N of a platform's rate limit.
CONNECTOR_WORKER_PROCESSES = env.int("CONNECTOR_WORKER_PROCESSES", default=2)
# Where polling is the path (Toast's sales): its interval is most of their sync lag.
POLL_INTERVAL_SECONDS = env.float("POLL_INTERVAL_SECONDS", default=1.0)
POLL_BACKSTOP_SECONDS = env.float("POLL_BACKSTOP_SECONDS", default=15.0)  # where webhooks are
DRIFT_AUTO_FIX_UNITS = env.int("DRIFT_AUTO_FIX_UNITS", default=2)
DRIFT_CONFIRM_SECONDS = env.float("DRIFT_CONFIRM_SECONDS", default=5.0)
HEALTH_MAX_PENDING_AGE_SECONDS = env.int("HEALTH_MAX_PENDING_AGE_SECONDS", default=300)
# A customer-service refund above this (minor units) waits for a manager's or admin's approval.
REFUND_APPROVAL_LIMIT = env.int("REFUND_APPROVAL_LIMIT", default=20000)
# Reconciliation: unexplained differences up to this many minor units per day open no
# exception; card money with no payout line this many days after its business day is overdue.
RECONCILIATION_TOLERANCE = env.int("RECONCILIATION_TOLERANCE", default=0)
RECONCILIATION_PAYOUT_GRACE_DAYS = env.int("RECONCILIATION_PAYOUT_GRACE_DAYS", default=7)
# Loyalty (the first active program is created from these): points per whole currency
# unit spent, the worth of one point in minor units, and the least one may redeem.
LOYALTY_POINTS_PER_UNIT = env.int("LOYALTY_POINTS_PER_UNIT", default=1)
LOYALTY_POINT_VALUE = env.int("LOYALTY_POINT_VALUE", default=1)
LOYALTY_MIN_REDEEM_POINTS = env.int("LOYALTY_MIN_REDEEM_POINTS", default=0)
# Phones without a country code are read in this country when the caller names none.
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="US")
# A new location's sales-tax rate in basis points (1025 = 10.25%); each location keeps its own.
DEFAULT_TAX_RATE_BPS = env.int("DEFAULT_TAX_RATE_BPS", default=0)
if not 0 <= DEFAULT_TAX_RATE_BPS <= 10000:
    raise ImproperlyConfigured("DEFAULT_TAX_RATE_BPS must be between 0 and 10000.")
# Each worker process records a heartbeat this often; /healthz answers 503 "no worker alive"
# when the newest is older than the limit, and "outbox not relayed" when a change has
# waited in the outbox longer than the limit (a worker alive but not relaying).
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=5.0)
HEALTH_MAX_HEARTBEAT_AGE_SECONDS = env.float("HEALTH_MAX_HEARTBEAT_AGE_SECONDS", default=20.0)
HEALTH_MAX_OUTBOX_WAIT_SECONDS = env.float("HEALTH_MAX_OUTBOX_WAIT_SECONDS", default=20.0)
# A claimed delivery whose worker died is sent again after this long (longer than any call).
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=60)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=10)
DELIVERY_BACKOFF_BASE_SECONDS = env.float("DELIVERY_BACKOFF_BASE_SECONDS", default=0.5)
DELIVERY_BACKOFF_CAP_SECONDS = env.float("DELIVERY_BACKOFF_CAP_SECONDS", default=120.0)
INBOUND_MAX_ATTEMPTS = env.int("INBOUND_MAX_ATTEMPTS", default=5)
INBOUND_CLAIM_SECONDS = env.int("INBOUND_CLAIM_SECONDS", default=60)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)
MAX_LINE_QUANTITY = env.int("MAX_LINE_QUANTITY", default=999)
MAX_ORDER_LINES = env.int("MAX_ORDER_LINES", default=100)
# Every request, API and webhooks alike: a larger body is 413 before anything reads it.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
MAX_QUERY_STRING_BYTES = env.int("MAX_QUERY_STRING_BYTES", default=8192)
MAX_QUERY_PARAMETERS = env.int("MAX_QUERY_PARAMETERS", default=100)

# Platform connectors (README, "The platforms"). A platform whose settings are
# missing is off; production values come only from the environment.
SHOPIFY_BASE_URL = env.str("SHOPIFY_BASE_URL", default="")
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2026-04")
SHOPIFY_ACCESS_TOKEN = env.str("SHOPIFY_ACCESS_TOKEN", default="")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET", default="")
SQUARE_BASE_URL = env.str("SQUARE_BASE_URL", default="")
SQUARE_VERSION = env.str("SQUARE_VERSION", default="2025-08-20")
SQUARE_ACCESS_TOKEN = env.str("SQUARE_ACCESS_TOKEN", default="")
SQUARE_WEBHOOK_SIGNATURE_KEY = env.str("SQUARE_WEBHOOK_SIGNATURE_KEY", default="")
SQUARE_WEBHOOK_URL = env.str("SQUARE_WEBHOOK_URL", default="")
TOAST_BASE_URL = env.str("TOAST_BASE_URL", default="")
TOAST_CLIENT_ID = env.str("TOAST_CLIENT_ID", default="")
TOAST_CLIENT_SECRET = env.str("TOAST_CLIENT_SECRET", default="")
TOAST_WEBHOOK_SECRET = env.str("TOAST_WEBHOOK_SECRET", default="")
CLOVER_BASE_URL = env.str("CLOVER_BASE_URL", default="")
CLOVER_ACCESS_TOKEN = env.str("CLOVER_ACCESS_TOKEN", default="")
CLOVER_AUTH_CODE = env.str("CLOVER_AUTH_CODE", default="")
CONCORD_PUBLIC_URL = env.str("CONCORD_PUBLIC_URL", default="http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Escapes control characters in every message: nothing from a request forges a line.
    "formatters": {"escaped": {"()": "apps.core.redaction.EscapingFormatter",
                               "format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "escaped"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # 4xx answers are the API doing its job; only server errors are worth a log line.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Sign-in throttling (admin and back office): after this many failures in the window for
# one account, or from one address (an office shares one), even the right password is
# refused until the window has passed.
AUTHENTICATION_BACKENDS = ["apps.core.sign_in.ThrottledModelBackend"]
SIGN_IN_MAX_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_MAX_FAILURES_PER_ACCOUNT", default=5)
SIGN_IN_MAX_FAILURES_PER_ADDRESS = env.int("SIGN_IN_MAX_FAILURES_PER_ADDRESS", default=20)
SIGN_IN_WINDOW_SECONDS = env.int("SIGN_IN_WINDOW_SECONDS", default=900)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "backoffice:dashboard"
LOGOUT_REDIRECT_URL = "login"
