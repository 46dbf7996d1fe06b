"""POST /v1/models/import: models already on the server, only from IMPORT_DIRS."""

import pytest

from tests.files import write_safetensors_model, write_tiny_gguf
from tests.uploads.support import wait_for


def import_path(api, path, **fields):
    return api.post(f"{api.base_url}/v1/models/import", json={"path": str(path), **fields})


def test_a_file_in_import_dirs_is_imported_and_kept_on_delete(uploads, import_dir):
    gguf = write_tiny_gguf(import_dir / "server-side.gguf")

    response = import_path(uploads, gguf, name="server-side")

    assert response.status_code == 201, response.text
    model = wait_for(uploads, response.json()["model"]["id"])
    assert model["status"] == "ready", model
    assert uploads.delete(f"{uploads.base_url}/v1/models/{model['id']}").status_code == 200
    assert gguf.exists()  # the server's own file is never deleted


def test_a_model_folder_in_import_dirs_is_imported(uploads, import_dir):
    folder = write_safetensors_model(import_dir / "hf-folder")

    response = import_path(uploads, folder, name="hf-folder")

    assert response.status_code == 201, response.text
    model = wait_for(uploads, response.json()["model"]["id"])
    assert (model["status"], model["format"]) == ("ready", "safetensors")


def test_a_path_outside_import_dirs_is_refused(uploads, tmp_path):
    outside = write_tiny_gguf(tmp_path / "outside.gguf")

    response = import_path(uploads, outside, name="outside")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "path_not_allowed"


@pytest.mark.parametrize("how", ["symlink", "dotdot"])
def test_no_path_escapes_import_dirs(uploads, import_dir, tmp_path, how):
    secret = write_tiny_gguf(tmp_path / "secret.gguf")
    if how == "symlink":
        path = import_dir / "link.gguf"
        path.symlink_to(secret)
    else:
        climb_to_root = "/".join([".."] * (len(import_dir.parts) - 1))
        path = f"{import_dir}/{climb_to_root}{secret}"  # spelled inside, lands outside

    response = import_path(uploads, path, name=f"escape-{how}")

    assert response.status_code == 403


def test_import_needs_an_absolute_existing_path(uploads, import_dir):
    relative = import_path(uploads, "models/x.gguf")
    missing = import_path(uploads, import_dir / "nothing-here.gguf")

    assert relative.status_code == 400
    assert missing.status_code == 404


def test_a_path_the_system_cannot_look_up_is_a_400(uploads, import_dir):
    response = import_path(uploads, import_dir / ("x" * 300 + ".gguf"))

    assert response.status_code == 400
    assert "File name too long" in response.json()["error"]["message"]
