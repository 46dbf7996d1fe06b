"""Configuration is read from the environment (and .env) and prepares DATA_PATH at start."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO_ROOT

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    journal = None
    if connection.vendor == "sqlite":
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
print(json.dumps({
    "data_path": str(settings.DATA_PATH),
    "secret_key": settings.SECRET_KEY,
    "ollama_host": settings.OLLAMA_HOST,
    "port": settings.PORT,
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "database_engine": settings.DATABASES["default"]["ENGINE"],
    "database_name": str(settings.DATABASES["default"]["NAME"]),
    "journal_mode": journal,
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
}))
"""


def load_settings(env: dict[str, str], cwd: Path = REPO_ROOT) -> dict:
    """Import the real settings in a fresh interpreter with exactly `env` set."""
    clean = {key: value for key, value in os.environ.items() if not key.isupper() or key == "PATH"}
    clean.update(env, DJANGO_SETTINGS_MODULE="premrunner.settings", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_data_path_is_created_with_its_folders_and_holds_the_sqlite_database(tmp_path):
    data = tmp_path / "data"
    loaded = load_settings({"DATA_PATH": str(data)})
    assert loaded["data_path"] == str(data)
    for folder in ("uploads", "tmp", "models", "logs"):
        assert (data / folder).is_dir()
    assert loaded["database_engine"] == "django.db.backends.sqlite3"
    assert loaded["database_name"] == str(data / "premrunner.sqlite3")


def test_sqlite_runs_in_wal_mode(tmp_path):
    assert load_settings({"DATA_PATH": str(tmp_path)})["journal_mode"] == "wal"


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = load_settings({"DATA_PATH": str(tmp_path)})["secret_key"]
    second = load_settings({"DATA_PATH": str(tmp_path)})["secret_key"]
    assert first == second and len(first) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_a_given_secret_key_wins_and_nothing_is_written(tmp_path):
    loaded = load_settings({"DATA_PATH": str(tmp_path), "SECRET_KEY": "given-secret"})
    assert loaded["secret_key"] == "given-secret"
    assert not (tmp_path / "secret_key").exists()


def test_defaults(tmp_path):
    loaded = load_settings({"DATA_PATH": str(tmp_path)})
    assert loaded["ollama_host"] == "http://127.0.0.1:11434"
    assert loaded["port"] == 3001
    assert loaded["debug"] is False
    assert loaded["channel_layer"] == "channels.layers.InMemoryChannelLayer"


def test_ollama_host_is_read_in_ollamas_forms(tmp_path):
    forms = {
        "0.0.0.0:5000": "http://0.0.0.0:5000",
        ":5050": "http://127.0.0.1:5050",
        "ollama.internal": "http://ollama.internal:11434",
        "https://ollama.example.org": "https://ollama.example.org",
    }
    for given, expected in forms.items():
        loaded = load_settings({"DATA_PATH": str(tmp_path), "OLLAMA_HOST": given})
        assert loaded["ollama_host"] == expected, given


def test_dotenv_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        f"DATA_PATH={tmp_path / 'from-dotenv'}\nPORT=4123\nALLOWED_HOSTS=a.example,b.example\n"
    )
    loaded = load_settings({}, cwd=tmp_path)
    assert loaded["data_path"] == str(tmp_path / "from-dotenv")
    assert loaded["port"] == 4123
    assert loaded["allowed_hosts"] == ["a.example", "b.example"]


def test_environment_wins_over_dotenv(tmp_path):
    (tmp_path / ".env").write_text("PORT=4123\n")
    loaded = load_settings({"DATA_PATH": str(tmp_path), "PORT": "5123"}, cwd=tmp_path)
    assert loaded["port"] == 5123


def test_database_url_and_redis_url_are_honoured(tmp_path):
    loaded = load_settings(
        {
            "DATA_PATH": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert loaded["database_engine"] == "django.db.backends.postgresql"
    assert loaded["channel_layer"] == "channels_redis.core.RedisChannelLayer"
