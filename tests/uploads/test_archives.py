"""Reading archives safely (uploads.archives): hostile members, bombs, partial files, extraction."""

import zipfile

import pytest

from tests.files import (
    make_tar,
    make_tar_bomb,
    make_tar_with_member,
    make_tar_with_symlink,
    make_zip,
    make_zip_bomb,
    make_zip_with_member,
    write_safetensors_model,
)
from uploads.archives import (
    NotYetReceived,
    PartialFile,
    TarStreamChecker,
    extract,
    inspect_archive,
    inspect_zip,
)
from uploads.formats import NotAModel

LIMIT = 1024 * 1024


@pytest.mark.parametrize(
    ("maker", "kind", "message"),
    [
        (lambda p: make_zip_with_member(p, "../evil.gguf"), "zip", "climbs out"),
        (lambda p: make_zip_with_member(p, "/etc/evil.gguf"), "zip", "absolute path"),
        (lambda p: make_zip_with_member(p, "C:\\evil.gguf"), "zip", "absolute path"),
        (lambda p: make_tar_with_member(p, "a/../../evil.gguf"), "tar", "climbs out"),
        (lambda p: make_tar_with_member(p, "/evil.gguf"), "tar", "absolute path"),
        (lambda p: make_tar_with_symlink(p), "tar", "is a link"),
        (lambda p: make_zip_bomb(p, uncompressed_size=5 * LIMIT), "zip", "MAX_EXTRACTED_SIZE"),
        (lambda p: make_tar_bomb(p, uncompressed_size=5 * LIMIT), "tar.gz", "MAX_EXTRACTED_SIZE"),
    ],
)
def test_hostile_archives_are_refused(tmp_path, maker, kind, message):
    archive = maker(tmp_path / "hostile")
    with pytest.raises(NotAModel, match=message):
        inspect_archive(archive, kind=kind, limit=LIMIT)


def test_a_zip_symlink_is_refused(tmp_path):
    link = zipfile.ZipInfo("model.gguf")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as archive:
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(NotAModel, match="is a link"):
        inspect_archive(tmp_path / "link.zip", kind="zip", limit=LIMIT)


@pytest.mark.parametrize("gzip", [False, True])
def test_a_tar_checked_piece_by_piece_matches_the_whole(tmp_path, gzip):
    model = write_safetensors_model(tmp_path / "hf")
    data = make_tar(tmp_path / "m.tar", model, gzip=gzip, prefix="m/").read_bytes()
    seen = []
    checker = TarStreamChecker(gzip=gzip, limit=LIMIT, on_config=lambda n, t, m: seen.append(n))

    for start in range(0, len(data), 100):
        checker.feed(data[start : start + 100])

    assert checker.finish() == inspect_archive(
        tmp_path / "m.tar", kind="tar.gz" if gzip else "tar", limit=LIMIT
    )
    assert seen == ["m/config.json"]


def test_a_tar_cut_short_is_refused(tmp_path):
    data = make_tar(tmp_path / "m.tar", write_safetensors_model(tmp_path / "hf")).read_bytes()
    checker = TarStreamChecker(gzip=False, limit=LIMIT)
    checker.feed(data[:1500])
    with pytest.raises(NotAModel, match="incomplete"):
        checker.finish()


def test_a_zip_directory_is_read_before_the_rest_of_the_file_arrives(tmp_path):
    archive = make_zip(tmp_path / "m.zip", write_safetensors_model(tmp_path / "hf"))
    size, chunk = archive.stat().st_size, 256
    last = (size - 1) // chunk
    all_chunks = set(range(last + 1))

    def partial(received):
        return PartialFile(archive, size=size, chunk_size=chunk, received=received)

    with partial({0}) as start_only, pytest.raises(NotYetReceived):
        inspect_zip(start_only, limit=LIMIT)
    with partial(all_chunks - {2, 3}) as gaps:  # the weights' chunks are still missing
        manifest = inspect_zip(gaps, limit=LIMIT)
    assert "model.safetensors" in manifest.members and "config.json" in manifest.configs


def test_extraction_writes_only_regular_files_inside_the_folder(tmp_path):
    model = write_safetensors_model(tmp_path / "hf")
    archive = make_zip(tmp_path / "m.zip", model, prefix="nested/dir/")

    extract(archive, kind="zip", dest=tmp_path / "out", limit=LIMIT)

    out = tmp_path / "out"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [f"nested/dir/{p.name}" for p in sorted(model.iterdir())]


def test_extraction_stops_when_the_bytes_pass_the_limit(tmp_path):
    bomb = make_tar_bomb(tmp_path / "bomb.tar.gz", uncompressed_size=3 * LIMIT)
    with pytest.raises(NotAModel, match="MAX_EXTRACTED_SIZE"):
        extract(bomb, kind="tar.gz", dest=tmp_path / "out", limit=LIMIT)
