"""Settings for Newsroom, read from the environment (and a local `.env` when present).

Only DJANGO_SECRET_KEY, DJANGO_DEBUG and DJANGO_ALLOWED_HOSTS are needed to start. Every other
variable has a default that is safe for production; README.md lists them all.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from dotenv import load_dotenv
from js_asset import static_lazy

from newsroom.figure_extension import FIGURE_EXTENSION, FIGURE_JS, figure_allowlist
from newsroom.mail import CONSOLE, UNCONFIGURED, mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

# A `.env` in the checkout (written by `make run`) fills in what the real environment lacks;
# variables already set in the environment always win.
load_dotenv(BASE_DIR / ".env", override=False)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        sys.exit(f"{name} must be a whole number, got {value!r}.")


def env_float(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        sys.exit(f"{name} must be a number, got {value!r}.")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

# Secret key: refuse to start in production without a real one. In development (debug on) a fixed,
# obviously insecure key keeps sessions working across restarts.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure")
):
    sys.exit(
        "DJANGO_SECRET_KEY is missing, shorter than 50 characters or insecure: set it to a long "
        "random value, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'` (or set DJANGO_DEBUG=1)."
    )
if not SECRET_KEY:
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

# The publication: masthead, titles, mail subjects.
NEWSROOM_NAME = os.environ.get("NEWSROOM_NAME", "The Highland Courier")
NEWSROOM_TAGLINE = os.environ.get(
    "NEWSROOM_TAGLINE", "Independent reporting from the Caucasus and beyond"
)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and "*" in ALLOWED_HOSTS:
    # Any Host header would be believed: in password-reset links, canonical addresses, the
    # page cache's keys.
    sys.exit(
        "DJANGO_ALLOWED_HOSTS must name the site's hosts (e.g. news.example.org), not '*': "
        "every link the site writes would otherwise trust the Host header a client sends."
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "newsroom.apps.NewsroomConfig",
    "members.apps.MembersConfig",
    # Before the admin: plan names and descriptions in each site language (members/translation.py).
    "modeltranslation",
    "newsroom.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    # Full-text search on PostgreSQL (newsroom.search); harmless on SQLite.
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "imagefield",
    "django_tasks_db",
    "django_prose_editor",
    "simple_history",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Django's CSP, session and messages middleware, for less per request (newsroom.middleware).
    "newsroom.middleware.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The language comes from the address alone (newsroom.middleware); the page cache needs it.
    "newsroom.middleware.language_from_address",
    "newsroom.page_cache.page_cache_middleware",
    "newsroom.middleware.private_when_personal",
    "newsroom.middleware.SessionWhenUsed",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "newsroom.middleware.MessagesWhenUsed",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "newsroom.middleware.history_of_changes",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"
ASGI_APPLICATION = "newsroom.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsroom.context_processors.site",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL names another (PostgreSQL in production).
VAR_DIR = Path(os.environ.get("NEWSROOM_VAR_DIR", BASE_DIR / "var"))
# Lower case: not a setting, so that the debug page never shows its password.
database_url = (
    os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{VAR_DIR / 'newsroom.sqlite3'}"
)
try:
    DATABASES = {"default": dj_database_url.parse(database_url)}
except ValueError as error:
    sys.exit(
        f"DATABASE_URL must look like postgres://user:password@host:5432/name or "
        f"sqlite:////absolute/path.sqlite3 (or be unset for SQLite under var/): {error}"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's built-in psycopg pool; it requires persistent connections to be off.
    # When the database is down a request fails in under a second (the branded 503, which
    # Stripe retries) instead of hanging. A request takes a connection from its process's pool
    # and waits at most DATABASE_POOL_TIMEOUT for one: a sync worker serves one request at a
    # time, so it never queues behind another request and only waits while a connection opens
    # (milliseconds); with the database down the pool cannot open one and the wait is the
    # bound. The pool itself gives up on a connection attempt after 3 s and keeps retrying in
    # the background, so the site recovers without a restart. A statement running longer
    # than DATABASE_STATEMENT_TIMEOUT (0: no limit) is cancelled by the server.
    # newsroom.postgresql: Django's backend, whose requests wait only 0.1 s for a connection
    # once a wait has run out (the database is down), until one gets a connection again.
    DATABASES["default"]["ENGINE"] = "newsroom.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", 3)
    statement_timeout = env_float("DATABASE_STATEMENT_TIMEOUT", 30)
    if statement_timeout > 0 and "options" not in options:
        options["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    options["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10),
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 0.5),
        # A connection that cannot be opened is retried for 2 s (not psycopg's 5 minutes of
        # growing back-off); then the next request that waits tries again at once, so the
        # site is back within moments of the database.
        "reconnect_timeout": 2,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers and one writer (the web process and a task worker) work side by side.
    # A write waits for the other's lock for SQLITE_TIMEOUT seconds, then fails with "database
    # is locked": 20 s for commands and the task worker, whose work may wait behind a long
    # write; newsroom.wsgi and newsroom.asgi set 3 s, so that a web request (a Stripe webhook
    # among them) answers a 5xx within seconds and is retried instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_float("SQLITE_TIMEOUT", 20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "members.User"

# Caches. "default" holds rate limits; "pages" holds whole pages for anonymous readers
# (newsroom.page_cache); "counters" the fundraiser blocks' views and clicks; "objects" what pages
# are made of (newsroom.object_cache). With REDIS_URL all four live in Redis (the choice as soon as there is more than one app server). Without it,
# "default" and "pages" are in the database, which every process shares, so that limits count
# and a purge reaches them all; their tables are created by `migrate` (newsroom.apps).
# Sessions are stored in the database (read through the default cache when there is Redis), so
# clearing any cache logs nobody out.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "newsroom.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom",
        },
        "pages": {
            "BACKEND": "newsroom.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom-pages",
        },
        # The fundraiser blocks' view and click counters (INCR, shared by every process).
        "counters": {
            "BACKEND": "newsroom.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom-counters",
        },
        # What reader pages are made of (newsroom.object_cache).
        "objects": {
            "BACKEND": "newsroom.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom-objects",
        },
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # Without Redis the default and page caches live in the database, which every app process
    # shares: the log-in limits (allauth counts failures in the default cache) must hold across
    # gunicorn's workers, which a per-process memory cache would multiply. `migrate` creates
    # both tables. The fundraiser counters stay in each process's memory: a database write per
    # page view is what they exist to avoid, and each process adds its own counts to the rows.
    # So do what pages are made of: a database read each would cost what it saves, and their
    # names carry the shared page cache's version, so every process retires them together.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "newsroom_cache",
        },
        "pages": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "newsroom_page_cache",
            "OPTIONS": {"MAX_ENTRIES": env_int("PAGE_CACHE_MAX_ENTRIES", 20_000)},
        },
        "counters": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "objects": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "objects",
            "OPTIONS": {"MAX_ENTRIES": 5_000},
        },
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# How long anonymous pages are kept, in the app and in shared caches in front (s-maxage), in
# seconds; a page also expires at the next scheduled change. Shared caches in front hold a page
# as long, unless they are purged (EDGE_PURGE_URLS).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300)
# With Redis, each app process also keeps the pages it served last in its own memory, up to this
# many bytes (bodies and headers; 0 keeps none), and serves them with no Redis read while Redis
# says the page cache's generation has not moved (newsroom.page_cache).
PAGE_CACHE_PROCESS_BYTES = env_int("PAGE_CACHE_PROCESS_BYTES", 32 * 1024 * 1024)
# The caches in front of the site (nginx, a CDN) that are purged with the page cache: each
# address gets a POST carrying the secret in EDGE_PURGE_HEADER (newsroom.edge).
EDGE_PURGE_URLS = env_list("EDGE_PURGE_URLS")
for _url in EDGE_PURGE_URLS:
    if not _url.startswith(("http://", "https://")):
        sys.exit(f"EDGE_PURGE_URLS must be http:// or https:// addresses, got {_url!r}.")
EDGE_PURGE_SECRET = os.environ.get("EDGE_PURGE_SECRET", "").strip()
EDGE_PURGE_HEADER = os.environ.get("EDGE_PURGE_HEADER", "").strip() or "X-Newsroom-Purge-Secret"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# allauth's backend alone: it is Django's ModelBackend (permissions, inactive users) with log-in
# by email. Django's own beside it would hash every failed log-in's password a second time.
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]

# Accounts (django-allauth): email is the login; there are no usernames.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Changing the address or the password asks for the password again, as deleting the account,
# downloading its data and opening Stripe's portal do (members/views.py); a confirmation counts
# for ACCOUNT_REAUTHENTICATION_TIMEOUT (300 s). Logging in itself does not count as one.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Stricter address checks than Django's EmailField (members.adapter).
ACCOUNT_ADAPTER = "members.adapter.AccountAdapter"
# Confirming the address in the browser that signed up logs the reader in (allauth only does
# this within the sign-up session, so a forwarded link logs nobody in).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# allauth's default limits (log-in, failed log-ins per address, sign-up, password reset, …),
# kept in the default cache: Redis when REDIS_URL is set, so every app process counts together.
# "checkout" and "checkout_user" are the project's own actions: creating Stripe Checkout sessions
# (join and donate) is limited per address and per account, against card testing (members.views).
ACCOUNT_RATE_LIMITS = {
    "checkout": os.environ.get("CHECKOUT_RATE_LIMIT_IP", "").strip() or "30/h/ip",
    "checkout_user": os.environ.get("CHECKOUT_RATE_LIMIT_ACCOUNT", "").strip() or "10/h/user",
    # The fundraiser blocks' view beacon (one request per page view).
    "call_to_action_beacon": "120/m/ip",
}
# Behind a reverse proxy every request comes from the proxy's address: name how many proxies
# append to X-Forwarded-For, so per-address limits count readers and not the proxy.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
# The publication's name prefixes account mail and names the entry in authenticator apps.
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{NEWSROOM_NAME}] "
# Two-factor log-in with an authenticator app (TOTP) and recovery codes, open to every account.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = NEWSROOM_NAME
# Staff must activate an authenticator app before the admin opens (newsroom.admin_site). On by
# default in production; development (debug on) leaves it off so the demo login works as printed.
STAFF_REQUIRE_MFA = env_bool("STAFF_REQUIRE_MFA", not DEBUG)

# Internationalisation: English at the root, Russian under /ru/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Plan names and descriptions (django-modeltranslation): English is the fallback.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC").strip() or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
# Media (uploaded pictures and their renditions) on the local disk, or in an S3-compatible bucket
# when MEDIA_S3_BUCKET is set (newsroom.storage; docs/deployment.md). Its origin joins the CSP's
# image sources below.
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "").strip()
if MEDIA_S3_BUCKET:
    from newsroom.storage import media_origins, s3_storage_options

    _media_options = s3_storage_options(os.environ)
    MEDIA_STORAGE = {"BACKEND": "newsroom.storage.MediaStorage", "OPTIONS": _media_options}
    MEDIA_ORIGINS = media_origins(_media_options, os.environ)
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    MEDIA_ORIGINS = []
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Images: originals are cleaned on upload (newsroom.images); django-imagefield builds renditions.
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 25 * 1024 * 1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 60_000_000)
# A file over IMAGE_MAX_BYTES stops being stored at the limit, not at the proxy's (newsroom.images).
FILE_UPLOAD_HANDLERS = [
    "newsroom.images.PictureSizeLimit",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
IMAGEFIELD_BIN_DEPTH = 2
# Renditions are built by a task after upload (newsroom.tasks), never on the request path.
IMAGEFIELD_AUTOGENERATE = False

# The body editor's own extension, inline figures (newsroom.figure_extension): django-prose-editor
# loads its ES module in the admin and adds what it may store to the sanitiser's allow-list.
DJANGO_PROSE_EDITOR_EXTENSIONS = [
    {
        "js": [static_lazy(FIGURE_JS)],
        "extensions": {FIGURE_EXTENSION: figure_allowlist},
    }
]

# Background tasks: Django's task framework with the database queue (`manage.py db_worker`).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Security. Production values are the defaults; debug only relaxes what needs HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# One year of HSTS with subdomains and preload by default; see docs/deployment.md before keeping
# preload on (it is hard to undo).
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
if DEBUG:
    SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy from Django core. Public pages carry no inline script or style, so the
# policy needs no nonce and cached pages stay valid; the admin gets its own policy (newsroom.admin).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, *MEDIA_ORIGINS],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    # Joining, giving and "manage payments" are forms answered with a redirect to Stripe's
    # hosted pages, and browsers hold that redirect to form-action too.
    "form-action": [CSP.SELF, "https://checkout.stripe.com", "https://billing.stripe.com"],
    "frame-ancestors": [CSP.NONE],
}
ADMIN_CSP = {
    **SECURE_CSP,
    "script-src": [CSP.SELF, CSP.NONCE],
    # The admin's widgets set inline styles.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", *MEDIA_ORIGINS],
    # No admin form leads to Stripe.
    "form-action": [CSP.SELF],
}

# Email: EMAIL_URL names the SMTP server. Without it, development prints mail to the console and
# production refuses to send, saying what to set (newsroom.mail).
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip()
if EMAIL_URL:
    try:
        MAILERS = {"default": mailer_from_url(EMAIL_URL)}
    except ValueError as error:
        sys.exit(str(error))
else:
    MAILERS = {"default": {"BACKEND": CONSOLE if DEBUG else UNCONFIGURED}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Newsroom <newsroom@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The site's public address (https://news.example.org), for links in emails that tasks send
# outside any request. Without it: the first named host of DJANGO_ALLOWED_HOSTS.
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/")

# Stripe and membership ---------------------------------------------------------------------------
# None of these is needed to start: the membership pages and the webhook say what is missing when
# used. docs/configuration.md describes each.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "").strip()
# Several comma-separated signing secrets while rotating the webhook endpoint's secret.
STRIPE_WEBHOOK_SECRETS = env_list("STRIPE_WEBHOOK_SECRET")
# Tests only: the base URL of the fake Stripe server (tests/fake_stripe/).
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").strip()
# Events of the other mode (a live event reaching a test-mode site, or the reverse) are ignored.
STRIPE_LIVEMODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
# How long a member whose renewal failed (past_due) keeps access after the period ended, in days.
MEMBERSHIP_GRACE_DAYS = env_int("MEMBERSHIP_GRACE_DAYS", 7)
# Fundraiser audiences: "lapsed member" for this many months after the end; "donor" for this many
# months after a gift.
MEMBERSHIP_LAPSED_MONTHS = env_int("MEMBERSHIP_LAPSED_MONTHS", 24)
DONOR_MONTHS = env_int("DONOR_MONTHS", 12)
# Where alerts about disputes and payments that could not be matched to a plan go (staff).
MEMBERSHIP_ALERTS_EMAIL = env_list("MEMBERSHIP_ALERTS_EMAIL")
# The donate page's preset amounts and the custom amount's floor and ceiling, in whole units of
# the chosen currency.
try:
    DONATION_PRESETS = [int(value) for value in env_list("DONATION_PRESETS", "5,10,25,50")]
except ValueError:
    sys.exit("DONATION_PRESETS must be whole numbers separated by commas, e.g. 5,10,25,50.")
DONATION_MIN = env_int("DONATION_MIN", 2)
DONATION_MAX = env_int("DONATION_MAX", 5000)
# -------------------------------------------------------------------------------------------------


# How long a signed preview link for an unpublished story keeps working, in seconds.
NEWSROOM_PREVIEW_MAX_AGE = env_int("NEWSROOM_PREVIEW_MAX_AGE", 7 * 24 * 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": sys.stdout, "formatter": "plain"},
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request errors are logged to stdout like everything else (not mailed to ADMINS).
        "django": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        # One line per rendition saved is noise; failures are still logged.
        "imagefield": {"level": "WARNING"},
        # The Stripe SDK logs every request at INFO.
        "stripe": {"level": "WARNING"},
    },
}
