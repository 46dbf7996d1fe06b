"""The Django admin as the model browser: the list, re-import and delete through the services."""

import pytest

from models_app.models import Model, ModelStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/models_app/model/"


def make_model(settings, name: str, **fields) -> Model:
    path = settings.UPLOADS_DIR / f"{name}.gguf"
    path.write_bytes(b"GGUF")
    return Model.objects.create(
        name=f"{name}:latest", size=4, format="gguf", file_path=str(path), **fields
    )


def test_the_list_shows_status_size_format_and_progress(admin_client, settings):
    make_model(settings, "listed", status=ModelStatus.FAILED, error="Ollama said no")

    page = admin_client.get(CHANGELIST).content.decode()

    assert "listed:latest" in page
    assert "failed" in page.lower() and "4\xa0bytes" in page and "gguf" in page.lower()


def test_the_detail_page_shows_digest_and_error(admin_client, settings):
    model = make_model(
        settings, "detail", status=ModelStatus.FAILED, error="bad magic", sha256="ab" * 32
    )

    page = admin_client.get(f"{CHANGELIST}{model.pk}/change/").content.decode()

    assert "bad magic" in page and "ab" * 32 in page


def test_import_again_queues_a_failed_model(admin_client, settings):
    model = make_model(settings, "again", status=ModelStatus.FAILED, error="boom")

    admin_client.post(CHANGELIST, {"action": "import_again", "_selected_action": [model.pk]})

    model.refresh_from_db()
    assert (model.status, model.error) == (ModelStatus.UPLOADED, "")


def test_delete_removes_the_model_and_its_file(admin_client, settings):
    model = make_model(settings, "removed", status=ModelStatus.FAILED)

    admin_client.post(CHANGELIST, {"action": "delete_everywhere", "_selected_action": [model.pk]})

    assert not Model.objects.filter(pk=model.pk).exists()
    assert not (settings.UPLOADS_DIR / "removed.gguf").exists()


def test_models_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
