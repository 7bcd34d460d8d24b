"""IRP settings: one module, driven by the environment (and an optional `.env`)."""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The test suite runs with DEBUG off, as production does, but needs no secrets of its own.
RUNNING_TESTS = "pytest" in sys.modules

# A development key only works with DEBUG on (or under test); production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not RUNNING_TESTS:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-irp-secret-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base for links that leave the app (notifications, integration URLs, ICS).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "irp_site.apps.IRPAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_q",
    "irp_site",
    "oncall",
    "incidents",
    "postmortems",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "irp_site.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "irp_site.middleware.viewer_timezone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "irp_site.urls"
WSGI_APPLICATION = "irp_site.wsgi.application"

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
                "irp_site.context_processors.navigation",
                "irp_site.context_processors.due_work_alarm",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web, worker and engine processes all write to one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so a transaction never fails half-way on a
    # read-to-write upgrade, and the busy timeout makes writers queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
            "transaction_mode": "IMMEDIATE",
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
else:
    # Persistent connections triple throughput on PostgreSQL (../shared/FACTS.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Time ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
# Times are stored in UTC; TIME_ZONE is what a viewer without a profile time zone sees.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or RUNNING_TESTS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Development and tests serve static files straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG or RUNNING_TESTS
WHITENOISE_AUTOREFRESH = DEBUG or RUNNING_TESTS

# --- Email --------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="IRP <irp@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production) ----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    # Tests (and their live servers) speak plain HTTP; `check --deploy` holds production to HTTPS.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not RUNNING_TESTS)
    # Load balancers probe /healthz over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its `WWW-Authenticate` header turns a missing credential into a 401.
        "irp_site.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["irp_site.permissions.PlanPermissions"],
    "DEFAULT_PAGINATION_CLASS": "irp_site.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["irp_site.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "EXCEPTION_HANDLER": "irp_site.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IRP API",
    "DESCRIPTION": "Configure the incident response plan and work incidents.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI's assets ship with the app (no CDN): see irp_site/urls.py.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # One name per choice set that several models call "status" or "kind".
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "incidents.models.status.ComponentStatus",
        "IncidentStatusEnum": "incidents.models.incident.Incident.Status",
        "PublicIncidentStatusEnum": "incidents.models.status.PublicIncident.Status",
        "MaintenanceStatusEnum": "incidents.models.status.ScheduledMaintenance.Status",
        "AlertStatusEnum": "incidents.models.alerts.Alert.Status",
        "ShiftSwapStatusEnum": "oncall.models.schedules.ShiftSwap.Status",
        "IntegrationKindEnum": "incidents.models.integrations.Integration.Kind",
        "CommsKindEnum": "incidents.models.comms.CommsKind",
        "ContactMethodKindEnum": "oncall.models.contact.ContactMethod.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "incidents.openapi.add_ingestion_endpoints",
    ],
}

# --- Background work ----------------------------------------------------------------------------
Q_CLUSTER = {
    "name": "irp",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 60,
    "retry": 90,
    "poll": env.float("Q_POLL", default=0.1),
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "max_attempts": 1,
    "label": "Background jobs",
}
# /healthz calls a process dead when its heartbeat is older than this.
HEARTBEAT_MAX_AGE_SECONDS = env.int("HEARTBEAT_MAX_AGE_SECONDS", default=10)
# Four ticks a second: a step falls due at most a quarter of a second before the engine sees it.
ENGINE_TICK_SECONDS = env.float("ENGINE_TICK_SECONDS", default=0.25)
# Due work (an escalation step, a delivery) this late makes /healthz degraded and the admin warn.
OVERDUE_ALARM_SECONDS = env.int("OVERDUE_ALARM_SECONDS", default=30)
DELIVERY_TIMEOUT_SECONDS = env.float("DELIVERY_TIMEOUT_SECONDS", default=10.0)
# Deliveries go to the workers this many to a django-q2 task, and each worker process sends up to
# DELIVERY_THREADS of them at once (sends mostly wait on the provider; see docs/escalation.md).
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=8)
DELIVERY_THREADS = env.int("DELIVERY_THREADS", default=4)
# A worker holds a delivery this long while sending; a crashed worker's delivery is re-driven after it.
DELIVERY_LEASE_SECONDS = env.float("DELIVERY_LEASE_SECONDS", default=30.0)
if DELIVERY_TIMEOUT_SECONDS >= DELIVERY_LEASE_SECONDS:
    raise ImproperlyConfigured("DELIVERY_TIMEOUT_SECONDS must be shorter than DELIVERY_LEASE_SECONDS.")
if DELIVERY_BATCH_SIZE < 1 or DELIVERY_THREADS < 1:
    raise ImproperlyConfigured("DELIVERY_BATCH_SIZE and DELIVERY_THREADS must be at least 1.")
# django-q2 kills a task that runs past its timeout; a batch of sends that all time out must fit.
_SENDS_PER_THREAD = -(-DELIVERY_BATCH_SIZE // DELIVERY_THREADS)  # rounded up
if Q_CLUSTER["timeout"] - 10 <= _SENDS_PER_THREAD * DELIVERY_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "DELIVERY_BATCH_SIZE / DELIVERY_THREADS × DELIVERY_TIMEOUT_SECONDS must stay under 50 s."
    )
# A queued delivery handed to the workers this long ago without being picked up is handed over
# again, waiting twice as long each time (a backlog must not multiply the queue).
DELIVERY_REDISPATCH_SECONDS = env.float("DELIVERY_REDISPATCH_SECONDS", default=15.0)
DELIVERY_RETRY_BASE_SECONDS = env.float("DELIVERY_RETRY_BASE_SECONDS", default=2.0)
DELIVERY_RETRY_MAX_SECONDS = env.float("DELIVERY_RETRY_MAX_SECONDS", default=300.0)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=6)
# Acknowledge/resolve links in notifications stop working after this long.
ACTION_LINK_MAX_AGE_SECONDS = env.int("ACTION_LINK_MAX_AGE_SECONDS", default=24 * 3600)

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
