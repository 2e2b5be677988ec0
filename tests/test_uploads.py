"""Upload safety: names are reduced to a safe basename, types and sizes are capped, nothing lands outside."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipqa.app.service import ChipQA
from chipqa.core.errors import InputError
from chipqa.ingest.uploads import (
    ALLOWED_SUFFIXES,
    MANIFEST,
    check_size,
    delete_upload,
    is_inside,
    sanitize_filename,
    save_upload,
    saved_by_chipqa,
    target_path,
    unique_name,
)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/x.md", "x.md"),
        ("a/b/../c.html", "c.html"),
        ("con\x00trol.txt", "control.txt"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("Report FINAL.PDF", "Report FINAL.pdf"),
        (".hidden.md", "hidden.md"),
        ("rapport-Überblick.txt", "rapport-Überblick.txt"),
        ("we<ird>|na:me?.txt", "we_ird_na_me.txt"),
        ("right\u202eto-left.txt", "rightto-left.txt"),
        ("notes.txt  ", "notes.txt"),
        ("con.txt", "con_.txt"),
    ],
)
def test_sanitize_keeps_a_safe_basename(raw: str, safe: str) -> None:
    assert sanitize_filename(raw) == safe


@pytest.mark.parametrize(
    "raw",
    [
        "evil.exe",
        "archive.txt.exe",
        "noext",
        "",
        "..",
        "../",
        ".txt",
        "..txt",
        "/",
        "___.md",
        "a/b/",
        "x.htm",
    ],
)
def test_sanitize_rejects_bad_types_and_empty_names(raw: str) -> None:
    with pytest.raises(InputError):
        sanitize_filename(raw)


def test_long_names_are_cut_keeping_the_suffix() -> None:
    name = sanitize_filename("a" * 500 + ".md")
    assert name.endswith(".md") and len(name) <= 120


@given(st.text(max_size=80), st.sampled_from(ALLOWED_SUFFIXES))
def test_any_sanitized_name_is_one_plain_component(stem: str, suffix: str) -> None:
    try:
        name = sanitize_filename(stem + suffix)
    except InputError:
        return
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name not in ("", ".", "..")
    assert all(ch.isprintable() for ch in name)
    assert os.path.splitext(name)[1] in ALLOWED_SUFFIXES


def test_size_cap() -> None:
    check_size(1, 1)
    check_size(1_000_000, 1)
    with pytest.raises(InputError, match="limit is 1 MB"):
        check_size(1_000_001, 1)
    with pytest.raises(InputError, match="empty"):
        check_size(0, 1)


def test_is_inside_and_target_path(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    assert is_inside(root, root / "a.txt")
    assert not is_inside(root, root)
    assert not is_inside(root, root / ".." / "a.txt")
    assert not is_inside(root, Path("/etc/passwd"))
    assert target_path(root, "a.txt") == root / "a.txt"
    with pytest.raises(InputError):
        target_path(root, "../a.txt")
    (tmp_path / "outside").mkdir()
    (root / "link.txt").symlink_to(tmp_path / "outside" / "x.txt")
    with pytest.raises(InputError):
        target_path(root, "link.txt")


def test_unique_name_never_takes_another_documents_id() -> None:
    assert unique_name("a.txt", set()) == "a.txt"
    assert unique_name("a.txt", {"a"}) == "a-2.txt"
    assert unique_name("a.txt", {"a", "a-2"}) == "a-3.txt"
    assert unique_name("a.txt", {"a"}, replaceable={"a"}) == "a.txt"


def _upload(tmp_path: Path, data: bytes) -> Path:
    """An uploaded temp file, as Gradio hands it over."""
    src = tmp_path / "incoming" / "x"
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    return src


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)


def test_save_upload_writes_only_inside_the_uploads_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "uploads"
    src = _upload(tmp_path, b"Title\n\nZephyr Labs bought 12,345 GPUs.")
    saved = save_upload(src, "../../etc/passwd.txt", corpus, max_mb=1)
    assert saved == corpus / "passwd.txt"
    assert saved.read_bytes() == src.read_bytes()
    assert not (tmp_path / "etc").exists()
    assert _files(corpus) == ["passwd.txt"]  # no temp file left behind


def test_save_upload_replaces_same_name_and_renames_clashing_ids(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    first = save_upload(_upload(tmp_path, b"v1"), "doc.txt", corpus, 1, taken_ids=set())
    again = save_upload(_upload(tmp_path, b"v2"), "doc.txt", corpus, 1, taken_ids={"doc"})
    assert again == first and first.read_bytes() == b"v2"
    other = save_upload(_upload(tmp_path, b"md"), "doc.md", corpus, 1, taken_ids={"doc"})
    assert other.name == "doc-2.md"


def test_save_upload_rejects_and_leaves_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    with pytest.raises(InputError, match="not accepted"):
        save_upload(_upload(tmp_path, b"MZ"), "evil.exe", corpus, 1)
    with pytest.raises(InputError, match="upload limit"):
        save_upload(_upload(tmp_path, b"x" * 2000), "big.txt", corpus, max_mb=0.001)

    def refuse(path: Path) -> None:
        raise InputError("binary file, not text")

    with pytest.raises(InputError, match="binary"):
        save_upload(_upload(tmp_path, b"\x00\x01"), "bad.txt", corpus, 1, validate=refuse)
    assert not corpus.exists() or _files(corpus) == []


def test_a_failed_validation_keeps_the_previous_version(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    save_upload(_upload(tmp_path, b"good"), "doc.txt", corpus, 1)

    def refuse(path: Path) -> None:
        raise InputError("no readable text")

    with pytest.raises(InputError):
        save_upload(_upload(tmp_path, b"bad"), "doc.txt", corpus, 1, taken_ids={"doc"}, validate=refuse)
    assert (corpus / "doc.txt").read_bytes() == b"good"
    assert _files(corpus) == ["doc.txt"]


def test_only_files_chipqa_saved_can_be_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    saved = save_upload(_upload(tmp_path, b"Velomar bought 9 chips."), "velomar.txt", folder, 1)
    assert saved_by_chipqa(folder, saved)
    mine = folder / "notes.txt"  # put there by the user, not by chipqa
    mine.write_text("my own notes")
    outside = tmp_path / "b.txt"
    outside.write_text("x")
    for path in (mine, outside, folder / ".." / "b.txt", folder / "missing.txt"):
        assert not saved_by_chipqa(folder, path)
        with pytest.raises(InputError, match="left in place"):
            delete_upload(folder, path)
    assert mine.exists() and outside.exists()
    assert not saved_by_chipqa(folder, None)
    # A file chipqa saved and the user then edited is the user's now.
    edited = save_upload(_upload(tmp_path, b"v1"), "edited.txt", folder, 1)
    edited.write_bytes(b"v1 with the user's notes")
    with pytest.raises(InputError):
        delete_upload(folder, edited)
    assert delete_upload(folder, saved) == saved and not saved.exists()
    assert not saved_by_chipqa(folder, saved)


def test_an_upload_never_replaces_a_file_chipqa_did_not_save(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "doc.txt").write_text("the user's own file")
    saved = save_upload(_upload(tmp_path, b"uploaded"), "doc.txt", folder, 1)
    assert saved.name == "doc-2.txt" and (folder / "doc.txt").read_text() == "the user's own file"


def test_uploads_default_outside_the_corpus_and_are_ingested_with_it(
    make_app: Callable[..., ChipQA], tmp_path: Path
) -> None:
    from chipqa.core.settings import Settings

    defaults = Settings()
    assert defaults.uploads_dir.resolve() != defaults.corpus_dir.resolve()
    app = make_app()
    corpus, folder = app.settings.corpus_dir, app.settings.uploads_dir
    corpus.mkdir()
    (corpus / "seed.txt").write_text("Seed News\n\nKestrel bought 5 chips.")
    assert app.default_paths() == [corpus]
    save_upload(_upload(tmp_path, b"Upload News\n\nVelomar bought 7 chips."), "up.txt", folder, 1)
    assert app.default_paths() == [corpus, folder]
    assert sorted(app.ingest().added) == ["seed", "up"]
