"""One env-driven settings module. Every variable is listed in .env.example."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str
from config.logs import LOG_FORMAT

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-debug-only-key" if DEBUG else None)
if not DEBUG and SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a long random value in production.")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Behind a reverse proxy that terminates HTTPS: DJANGO_SECURE_PROXY_SSL_HEADER=true trusts its
# X-Forwarded-Proto header (the proxy must set it, overwriting whatever the client sent).
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "departments",
    "appeals",
    "sla",
    "leads",
    "engagement",
    "reports",
]

MIDDLEWARE = [
    # First: the request id is set before anything can log, and the access line is written last.
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Django's, with a failed save while the database is gone answering the 503 page.
    "config.middleware.SessionMiddleware",
    "departments.sessions.IdleSessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    "config.middleware.RefuseLookupParamsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(), then the gate that keeps an unverified staff session on the
    # second-factor pages (departments/two_factor).
    "django_otp.middleware.OTPMiddleware",
    "departments.two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After authentication: a pin may belong to the user (core.db, read-your-own-writes).
    "config.middleware.PrimaryPinMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "departments.context_processors.roles",
                "appeals.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
# PostgreSQL through Django's own backend with a cheaper health check (core/postgresql).
POSTGRESQL_ENGINE = "core.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = POSTGRESQL_ENGINE
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs a web server and a Celery worker on one file: wait for the
    # lock instead of failing, and take the write lock at BEGIN so two writers never deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A PostgreSQL streaming replica of the primary (docs/deploy.md): boards, rates, league tables,
# exports and read-only API lists read from it inside core.db's replica_reads(); everything
# else, and everything inside a transaction, stays on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
        engine=POSTGRESQL_ENGINE,
    )
    # Tests read the test database's copy on the same replica (only NAME is taken over).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Seconds a browser or user that wrote keeps reading from the primary: longer than the
# replica's lag ever is (config.middleware.PrimaryPinMiddleware).
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 15)
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The 等保 level-3 practice for passwords: at least 10 characters from three of the four
# classes (upper, lower, digit, symbol), not a common password, not like the user's name.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "departments.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out account before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock an account after this many failed logins in a row from one address, for this long.
# Keyed on the account *and* the address: a stranger who knows a user name cannot keep its
# owner out from another address (issue #15), and one typing colleague does not lock a whole
# bureau out behind its shared NAT address. A guesser who rotates addresses gets
# LOGIN_FAILURE_LIMIT tries per address; the password rules (10 characters, three classes)
# keep that far from enough.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked are refused without extending the lock: it lifts on time, so a
# stranger hammering an account cannot keep its owner out indefinitely.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Staff (every staff role, and admin users) log in with a second factor after the password:
# a TOTP app, or one of ten single-use recovery codes (等保 level 3, GB/T 22239 §8.1.4.1 d;
# departments/two_factor). On in production; off by default with DEBUG, so a newcomer logs
# into the demo with the demo passwords alone. Enterprise accounts and API tokens: never asked.
STAFF_2FA_REQUIRED = env_bool("STAFF_2FA_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = "企呼政应"
# Wrong codes are throttled per device: after n failures in a row the next try waits 2^(n-1)
# seconds (django-otp's exponential back-off; 0 would switch it off).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin never shows a TOTP key or a recovery code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# WhiteNoise serves STATIC_ROOT from the app (gunicorn). In production collectstatic writes
# compressed copies under content-hashed names (cacheable for good); with DEBUG (bin/serve, the
# tests) files are served straight from static/ and the apps, with no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded files are never served as static media: only through a view that checks access.
# No URL pattern serves this prefix; it only has to be a valid path for Django's machinery.
MEDIA_URL = "/media-never-served/"

EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "qihu@localhost")

# Django's cache holds the limits (API throttles, the tracking lockout), the escalation sweep's
# lock against overlap and the working-day calendar's version stamp. Production runs several processes (gunicorn workers, Celery), and a
# limit kept in one process's memory holds for that process only: CACHE_URL=redis://… shares
# them. Without it (bin/serve, the tests, the embedded SQLite and file-broker mode) each process
# keeps a local in-memory cache.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} is not a redis:// URL.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "qihu",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. The embedded default is kombu's filesystem transport under var/, so a newcomer needs
# no Redis; production sets CELERY_BROKER_URL=redis://…
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # With acks_late, a task whose worker died (killed, OOM, power) stays unacknowledged in
    # Redis and goes to another worker once this many seconds have passed since it was taken.
    # It must exceed the longest task (task_time_limit, config/celery.py) or a slow task runs
    # twice at once; the fault tests shorten it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Appeals
APPEAL_NUMBER_PREFIX = env_str("APPEAL_NUMBER_PREFIX", "XC")
APPEAL_ATTACHMENT_MAX_BYTES = env_int("APPEAL_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
APPEAL_ATTACHMENT_MAX_COUNT = env_int("APPEAL_ATTACHMENT_MAX_COUNT", 5)
# A Word or Excel file is a zip: what it may inflate to when opened (a 200 KB zip bomb inflates
# to 200 MB), how far it may inflate per stored byte (text-heavy workbooks reach about 20:1,
# bombs 1000:1) and how many parts it may hold (real documents hold tens to a few hundred).
APPEAL_ATTACHMENT_MAX_INFLATED_BYTES = env_int(
    "APPEAL_ATTACHMENT_MAX_INFLATED_BYTES", 100 * 1024 * 1024
)
APPEAL_ATTACHMENT_MAX_RATIO = 100
APPEAL_ATTACHMENT_MAX_ENTRIES = 1000
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an anonymous call gets 401 with a WWW-Authenticate header.
        "departments.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "filing": env_str("API_FILING_RATE", "30/minute"),
        "tracking": env_str("API_TRACKING_RATE", "20/minute"),
        # Staff search (issue #18): a person types a few queries a minute; a script that
        # pages through everything by searching is slowed down.
        "search": env_str("API_SEARCH_RATE", "60/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    # The default enum hook, and links from a filing's receipt to the operations on one appeal.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.link_appeal_numbers",
    ],
    "TITLE": "企呼政应 API",
    "DESCRIPTION": "Enterprise appeals under the 挂号制 model. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AppealStatusEnum": "appeals.models.Appeal.Status",
        "AssignmentStateEnum": "appeals.models.Assignment.State",
        "ReplyStateEnum": "appeals.models.Reply.State",
        "ReviewStateEnum": ["pending_head", "pending_office"],
        # The anyOf rules of core.schema_rules name a boolean value.
        "TrueEnum": [(True, True)],
        "FalseEnum": [(False, False)],
        "ScoreEnum": [(s, s) for s in ("satisfied", "basically_satisfied", "unsatisfied")],
        "SatisfiedScoreEnum": [(s, s) for s in ("satisfied", "basically_satisfied")],
        "DeclineStatusEnum": ["not_accepted", "redirected"],
        "ActionCodeEnum": "appeals.actions.Action",
        "ExportKindEnum": "reports.models.ExportJob.Kind",
        "MeetingKindEnum": "engagement.models.Meeting.Kind",
        "ContactKindEnum": "engagement.models.Contact.Kind",
        "LeadKindEnum": "leads.models.Lead.Kind",
    },
}

# Sessions: at most a working day, and signed out after SESSION_IDLE_MINUTES without a request
# (departments.sessions.IdleSessionMiddleware). Django issues a new session id at login and
# drops every other session of a user whose password changes.
SESSION_ENGINE = "departments.sessions"  # the database, one look-up fewer per new session
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_MINUTES", 30) * 60

# Security headers on every response (tests/security/test_headers.py).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every script and style comes from our own static files: no inline script, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    # Production speaks HTTPS only. DJANGO_HTTPS=false only on a test box behind plain HTTP.
    HTTPS = env_bool("DJANGO_HTTPS", True)
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_SSL_REDIRECT = HTTPS
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
    SECURE_HSTS_PRELOAD = HTTPS

# One line per request (logger qihu.access) and per task (qihu.tasks); every line carries the
# request id (config/logs.py). The Celery worker uses its own handlers, in the same format.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": LOG_FORMAT}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# /healthz says "beat: stale" when the deadline sweep has not run for this long (five sweeps
# at the default SLA_SWEEP_SECONDS=60).
HEALTHZ_BEAT_MAX_AGE_SECONDS = env_int("HEALTHZ_BEAT_MAX_AGE_SECONDS", 300)

# Audit records are kept this many days (at least 183: six months, the 等保 minimum).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)

# Exports (reports.jobs): a list of up to this many rows is sent at once; a longer one, and
# the bulletin, is built by a task into a file kept this many hours.
EXPORT_INLINE_MAX_ROWS = env_int("EXPORT_INLINE_MAX_ROWS", 2000)
EXPORT_KEEP_HOURS = env_int("EXPORT_KEEP_HOURS", 24)

SMS_BACKEND = env_str("SMS_BACKEND", "appeals.sms.ConsoleBackend")
# The shared secret the SMS gateway sends (X-SMS-Gateway-Secret) with the replies it passes on
# to /api/v1/sms/inbound/ (TD / 退订 unsubscribes). Empty: the endpoint does not exist (404).
SMS_INBOUND_SECRET = env_str("SMS_INBOUND_SECRET", "")
