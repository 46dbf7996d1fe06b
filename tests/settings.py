"""Settings for the test suite: the project's own settings over a throw-away DATA_PATH."""

import os
import tempfile

os.environ.setdefault("DATA_PATH", tempfile.mkdtemp(prefix="premrunner-test-"))
os.environ.setdefault("AUTH_TOKEN", "test-token-0123456789")
os.environ.setdefault("OLLAMA_MANAGE", "false")
os.environ.setdefault("OLLAMA_HOST", "http://127.0.0.1:9")

from premrunner.settings import *  # noqa: E402,F403
