"""Background work (the Ollama keeper, the import worker) runs in server processes only."""

import pytest

from premrunner.lifecycle import is_server_process


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["manage.py", "serve"], {}),
        (["manage.py", "serve", "--port", "8080"], {}),
        (["/srv/venv/lib/python3.11/site-packages/django/__main__.py", "serve"], {}),
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}),
        (["manage.py", "runserver", "--noreload"], {}),
        (["/srv/venv/bin/daphne", "premrunner.asgi:application"], {}),
        (["/srv/venv/bin/uvicorn", "premrunner.asgi:application"], {}),
        (["/srv/venv/lib/python3.11/site-packages/daphne/__main__.py", "x:app"], {}),
    ],
)
def test_server_processes_supervise_ollama(argv, environ):
    assert is_server_process(argv, environ)


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["manage.py", "migrate"], {}),
        (["manage.py", "shell"], {}),
        (["manage.py", "collectstatic", "--noinput"], {}),
        (["manage.py", "ollama", "serve"], {}),
        (["manage.py", "test"], {}),
        (["/srv/venv/bin/pytest", "tests"], {}),
        # The autoreloader's parent only watches files; its child (RUN_MAIN=true) serves.
        (["manage.py", "runserver"], {}),
        (["manage.py", "runserver"], {"RUN_MAIN": "false"}),
        ([], {}),
    ],
)
def test_other_processes_leave_ollama_alone(argv, environ):
    assert not is_server_process(argv, environ)
