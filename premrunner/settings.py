"""Django settings for PremRunner, read once from the environment and an optional `.env` file.

Every variable is documented in README.md and `.env.example`.
"""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(Path.cwd() / ".env", overwrite=False)


def _prepare_data_path(path: Path) -> Path:
    """Create the runtime data directory and its fixed sub-folders."""
    for sub in ("", "uploads", "tmp", "models", "logs", "staticfiles"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _load_or_create_secret_key(data_path: Path) -> str:
    """Keep one generated secret key under DATA_PATH, readable by its owner alone."""
    key_file = data_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _ollama_url(host: str) -> str:
    """Turn an OLLAMA_HOST value (`host:port`, `:port` or a URL) into a base URL, as Ollama does."""
    host = host.strip().strip("\"'").rstrip("/")
    if "://" in host:
        return host
    if host.startswith(":"):
        host = "127.0.0.1" + host
    if ":" not in host.rsplit("]", 1)[-1]:
        host += ":11434"
    return f"http://{host}"


DATA_PATH = _prepare_data_path(Path(env("DATA_PATH", default=str(BASE_DIR / "data"))).resolve())
UPLOADS_DIR = DATA_PATH / "uploads"
UPLOAD_TMP_DIR = DATA_PATH / "tmp"
EXTRACTED_MODELS_DIR = DATA_PATH / "models"
LOGS_DIR = DATA_PATH / "logs"

AUTH_TOKEN: str = env("AUTH_TOKEN", default="")
AUTH_TOKEN_MIN_LENGTH = 10
SECRET_KEY = env("SECRET_KEY", default="") or _load_or_create_secret_key(DATA_PATH)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
PORT = env.int("PORT", default=3001)

OLLAMA_HOST = _ollama_url(env("OLLAMA_HOST", default="http://127.0.0.1:11434"))
OLLAMA_MANAGE = env.bool("OLLAMA_MANAGE", default=True)
OLLAMA_BIN = env("OLLAMA_BIN", default="")
OLLAMA_MODELS = env("OLLAMA_MODELS", default=str(DATA_PATH / "ollama"))
OLLAMA_DEFAULT_MODEL = env("OLLAMA_DEFAULT_MODEL", default="")
# Longest wait for Ollama's next byte (a first token can wait for a model to load).
OLLAMA_READ_TIMEOUT = env.float("OLLAMA_READ_TIMEOUT", default=300.0)
# Seconds a starting Ollama may take to answer, and to exit after SIGTERM before SIGKILL.
OLLAMA_START_TIMEOUT = env.float("OLLAMA_START_TIMEOUT", default=60.0)
OLLAMA_STOP_TIMEOUT = env.float("OLLAMA_STOP_TIMEOUT", default=10.0)
# Seconds between status checks while someone watches /ws/status or PremRunner keeps Ollama.
OLLAMA_STATUS_INTERVAL = env.float("OLLAMA_STATUS_INTERVAL", default=3.0)
DEFAULT_MODEL = env("DEFAULT_MODEL", default="") or OLLAMA_DEFAULT_MODEL

MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=10 * 1024**3)
IMPORT_DIRS = [Path(p).resolve() for p in env.list("IMPORT_DIRS", default=[])]
# Chunked uploads: the chunk size the server asks for, and how long an idle upload is kept.
UPLOAD_CHUNK_SIZE = env.int("UPLOAD_CHUNK_SIZE", default=16 * 1024**2)
UPLOAD_EXPIRY_HOURS = env.float("UPLOAD_EXPIRY_HOURS", default=24.0)
# Largest total an archive may unpack to (zip bombs), and disk space uploads always leave free.
MAX_EXTRACTED_SIZE = env.int("MAX_EXTRACTED_SIZE", default=2 * MAX_UPLOAD_SIZE)
UPLOAD_DISK_RESERVE = env.int("UPLOAD_DISK_RESERVE", default=512 * 1024**2)
# JSON bodies of the inference API; model files never travel through this limit.
MAX_JSON_BODY_SIZE = env.int("MAX_JSON_BODY_SIZE", default=32 * 1024**2)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_SIZE

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "premrunner",
    "ollama_bridge",
    "traces",
    "models_app",
    "uploads",
    "chat",
]

# Django's own middleware, in premrunner.middleware forms that add no thread hops to API calls.
MIDDLEWARE = [
    "premrunner.middleware.SecurityMiddleware",
    "premrunner.static.AsyncWhiteNoiseMiddleware",
    "premrunner.middleware.ApiErrorMiddleware",
    "premrunner.middleware.BearerTokenMiddleware",
    "premrunner.middleware.SessionMiddleware",
    "premrunner.middleware.CommonMiddleware",
    "premrunner.middleware.CsrfViewMiddleware",
    "premrunner.middleware.AuthenticationMiddleware",
    "premrunner.middleware.MessageMiddleware",
    "premrunner.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "premrunner.urls"
ASGI_APPLICATION = "premrunner.asgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_PATH / 'premrunner.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server read while an import or a trace write holds the write lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 0)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

REDIS_URL = env("REDIS_URL", default="")
CHANNEL_LAYERS = {
    "default": (
        {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_PATH / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Plain copies: compressing the vendored API-docs bundles made every start seconds slower,
    # and the UI's own files are small.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    # BearerTokenMiddleware guards every API route; DRF adds no second rule (and so no CSRF).
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["premrunner.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "premrunner.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PremRunner API",
    "DESCRIPTION": "OpenAI- and Prem-compatible inference, model uploads and traces over Ollama.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No call to an online validator: the docs work without a network.
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "persistAuthorization": True,
        "validatorUrl": None,
    },
    "REDOC_DIST": "SIDECAR",
    # BearerTokenMiddleware, not DRF, checks the token, so the schema declares it here.
    "SECURITY": [{"bearerAuth": []}],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The AUTH_TOKEN."}
        }
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "premrunner.openapi.name_prem_twins",
    ],
}

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOGS_DIR / "premrunner.log"),
            "maxBytes": 10 * 1024**2,
            "backupCount": 3,
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # The client logs one line per Ollama call itself; httpx would add a second.
        "httpx": {"level": "WARNING"},
    },
}
