"""Tests for ingestion into the real Chroma index with the real embedding model.

Read-only checks share the session's seed index; tests that change an index build their own from one or two
seed files, which keeps each embedding run to a few seconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from chipqa.app.render import format_ingest
from chipqa.app.service import ChipQA
from chipqa.core.errors import InputError
from chipqa.ingest.chunking import chunk_document
from chipqa.ingest.loading import load_document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_IDS = sorted(p.stem for p in SEEDS.glob("*.txt"))
ID_000 = next(d for d in SEED_IDS if d.startswith("000_"))
ID_003 = next(d for d in SEED_IDS if d.startswith("003_"))
ID_004 = next(d for d in SEED_IDS if d.startswith("004_"))


def chunks_by_doc(app: ChipQA) -> dict[str, dict[str, tuple[int, int, str]]]:
    """Every stored chunk as {doc_id: {chunk_id: (start, end, text)}}, failing on duplicate ids."""
    ids, texts, metas = app.store.all_chunks()
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    out: dict[str, dict[str, tuple[int, int, str]]] = {}
    for chunk_id, text, meta in zip(ids, texts, metas, strict=True):
        out.setdefault(str(meta["doc_id"]), {})[chunk_id] = (int(meta["start"]), int(meta["end"]), text)
    return out


def assert_consistent(app: ChipQA) -> None:
    """Chunks are exact spans of their committed document and match its record's chunk count."""
    records = app.store.documents(with_text=True)
    stored = chunks_by_doc(app)
    assert set(stored) == set(records)
    for doc_id, chunks in stored.items():
        assert records[doc_id].chunks == len(chunks)
        for start, end, text in chunks.values():
            assert records[doc_id].text[start:end] == text
    assert app.store.count_chunks() == sum(r.chunks for r in records.values())


def writable_copy(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / src.name
    shutil.copyfile(src, target)
    target.chmod(0o644)  # the seeds are read-only
    return target


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A writable folder with seeds 000 and 004 (25 chunks: quick to embed)."""
    folder = tmp_path / "corpus"
    for doc_id in (ID_000, ID_004):
        writable_copy(SEEDS / f"{doc_id}.txt", folder)
    return folder


# --- the shared seed index (read-only, apart from a re-ingest that must change nothing) ---


def test_reingest_changes_nothing(seed_app: ChipQA) -> None:
    before = chunks_by_doc(seed_app)
    report = seed_app.ingest([SEEDS])
    assert sorted(report.unchanged) == SEED_IDS
    assert (report.added, report.updated, report.removed, report.skipped) == ([], [], [], [])
    assert report.chunks_written == report.chunks_removed == 0
    assert chunks_by_doc(seed_app) == before
    assert report.total_chunks == sum(len(c) for c in before.values())
    assert report.total_documents == 5


def test_every_chunk_is_the_document_text_at_its_offsets(seed_app: ChipQA) -> None:
    assert_consistent(seed_app)
    records = seed_app.store.documents(with_text=True)
    assert sorted(records) == SEED_IDS
    for doc_id, record in records.items():
        # For seeds the stored text is the file's text, so offsets can be checked against the file too.
        assert record.text == (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")
    for doc_id, chunks in chunks_by_doc(seed_app).items():
        expected = chunk_document(load_document(SEEDS / f"{doc_id}.txt", 10**7))
        assert {c.chunk_id: (c.start, c.end, c.text) for c in expected} == chunks


def test_boilerplate_is_not_indexed_but_the_article_is(seed_app: ChipQA) -> None:
    _, texts, _ = seed_app.store.all_chunks()
    everything = "\n".join(texts)
    boilerplate_lines = (
        "Recent Posts",
        "SEC Sues Musk",
        "Skydives From 13,000 Feet",
        "77th Army Day",
        "minutes ago",
        "Nisha Srivastava is an influential blog writer",
        "Comments are closed",
    )
    for boilerplate in boilerplate_lines:
        assert boilerplate not in everything
    for sentence in (
        "Despite strong competition, Microsoft remained the leader in AI hardware, purchasing an impressive "
        "485,000 Hopper chips.",
        "Meta acquired 224,000, Amazon 196,000, and Google 169,000 units.",
        "NVIDIA maintained its dominant position in the market, capturing 43% of total AI hardware spending in 2024.",
        "The strategic investment plan indicates that about 60% of ByteDance’s semiconductor orders within "
        "China are expected to be sourced from domestic suppliers",
    ):
        assert sentence in everything


def test_titles_and_dates(seed_app: ChipQA) -> None:
    records = seed_app.store.documents()
    titles = {doc_id[:3]: r.title for doc_id, r in records.items()}
    assert titles["004"] == "ByteDance’s $12 Billion Investment in AI Infrastructure by 2025"
    assert titles["003"] == "ByteDance and Other Chinese Tech Giants Invest Heavily in Nvidia's HPC Products"
    assert titles["000"] == (
        "AI Race Heats Up: Chinese Tech Giants Tencent and ByteDance Invest in NVIDIA’s Latest GPUs"
    )
    assert titles["002"] == (
        "ByteDance's Nvidia GPU stockpile reportedly sold to Tencent and Alibaba, according to the report."
    )
    assert titles["001"].startswith("ByteDance, the Chinese tech giant and parent company of TikTok")
    for title in titles.values():
        assert 10 <= len(title) <= 120
        assert not any(mark in title for mark in ("#", "__", "](", "\n"))
    assert records[ID_003].date == "2023-07-01"
    assert records[ID_004].date is None  # the page states no date; none is invented


def test_hopper_query_retrieves_the_485000_chunk_first(seed_app: ChipQA) -> None:
    passages = seed_app.retriever.retrieve("Microsoft Hopper chips purchased")
    top = passages[0]
    assert "485,000" in top.text
    assert top.doc_id == ID_000
    assert seed_app.store.document(ID_000).text[top.start : top.end] == top.text  # type: ignore[union-attr]


# --- indexes of their own ---


def test_fresh_ingest_twice_gives_same_chunks(make_app: Callable[..., ChipQA], small_corpus: Path) -> None:
    app = make_app()
    first = app.ingest([small_corpus])
    assert sorted(first.added) == [ID_000, ID_004]
    ids = chunks_by_doc(app)
    assert first.chunks_written == first.total_chunks == sum(len(c) for c in ids.values())
    second = app.ingest([small_corpus])
    assert sorted(second.unchanged) == [ID_000, ID_004]
    assert second.chunks_written == 0 and not second.changed
    assert chunks_by_doc(app) == ids
    assert_consistent(app)


def test_edited_file_replaces_its_chunks(make_app: Callable[..., ChipQA], small_corpus: Path) -> None:
    app = make_app()
    app.ingest([small_corpus])
    untouched = chunks_by_doc(app)[ID_000]
    path = small_corpus / f"{ID_004}.txt"
    text = path.read_text(encoding="utf-8")
    assert "about 60%" in text
    new_sentence = "ByteDance also plans to buy 27,500 Ascend 910C processors from Huawei in 2026."
    last = "Comments are closed."
    text = text.replace("about 60%", "about 70%").replace(last, f"{new_sentence}\n{last}")
    path.write_text(text, encoding="utf-8")

    report = app.ingest([small_corpus])
    assert report.updated == [ID_004]
    assert report.unchanged == [ID_000]
    assert report.added == [] and report.removed == []
    expected = chunk_document(load_document(path, 10**7))
    assert report.chunks_written == len(expected)

    stored = chunks_by_doc(app)  # also fails on duplicate ids
    assert stored[ID_004] == {c.chunk_id: (c.start, c.end, c.text) for c in expected}
    assert stored[ID_000] == untouched
    assert not any("about 60%" in t for _, _, t in stored[ID_004].values()), "stale chunk of the old text"
    assert any("about 70%" in t for _, _, t in stored[ID_004].values())
    assert app.store.document(ID_004).text == text  # type: ignore[union-attr]
    assert_consistent(app)

    top = app.retriever.retrieve("How many Ascend 910C processors will ByteDance buy from Huawei in 2026?")[0]
    assert top.doc_id == ID_004 and "27,500" in top.text


def test_prune_removes_deleted_files_only_when_asked(
    make_app: Callable[..., ChipQA], small_corpus: Path, tmp_path: Path
) -> None:
    app = make_app()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    note = "# AMD wins an order\n\nOpenAI agreed to buy 6 GW of AMD GPUs.\n"
    (elsewhere / "amd_note.md").write_text(note, encoding="utf-8")
    app.ingest([small_corpus, elsewhere])
    counts = app.store.chunk_counts()
    (small_corpus / f"{ID_004}.txt").unlink()

    kept = app.ingest([small_corpus])
    assert kept.removed == [] and kept.chunks_removed == 0
    assert app.store.document(ID_004) is not None
    assert app.store.chunk_counts() == counts

    pruned = app.ingest([small_corpus], prune=True)
    assert pruned.removed == [ID_004]
    assert pruned.chunks_removed == counts[ID_004]
    assert app.store.document(ID_004) is None
    # A document outside the given folders is not pruned, even though it was not named in this run.
    assert app.store.chunk_counts() == {ID_000: counts[ID_000], "amd_note": counts["amd_note"]}
    assert pruned.total_documents == 2
    assert_consistent(app)


def test_reset_rebuilds_from_the_given_paths(
    make_app: Callable[..., ChipQA], small_corpus: Path, tmp_path: Path
) -> None:
    app = make_app()
    extra = tmp_path / "extra" / "oracle_note.md"
    extra.parent.mkdir()
    extra.write_text("# Oracle expands its cluster\n\nOracle will deploy 131,072 GPUs.\n", encoding="utf-8")
    app.ingest([small_corpus, extra])
    before = chunks_by_doc(app)

    report = app.ingest([small_corpus], reset=True)
    assert sorted(report.added) == [ID_000, ID_004]
    assert report.unchanged == [] and report.updated == []
    after = chunks_by_doc(app)
    assert set(after) == {ID_000, ID_004}
    assert report.chunks_written == report.total_chunks == sum(len(c) for c in after.values())
    assert after[ID_000] == before[ID_000] and after[ID_004] == before[ID_004]
    assert app.store.document("oracle_note") is None
    assert_consistent(app)


def tiny_corpus(folder: Path) -> Path:
    """Two one-sentence articles (a chunk each), for tests about bookkeeping rather than text."""
    folder.mkdir(parents=True)
    for name, count in (("alpha", "1,000"), ("beta", "2,000")):
        text = f"# {name.title()} buys more chips\n\n{name.title()} bought {count} GPUs in 2024.\n"
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def test_reset_with_a_missing_path_keeps_the_index(make_app: Callable[..., ChipQA], tmp_path: Path) -> None:
    app = make_app()
    corpus = tiny_corpus(tmp_path / "tiny")
    app.ingest([corpus])
    before = chunks_by_doc(app)
    with pytest.raises(InputError, match="no such file or folder"):
        app.ingest([corpus, tmp_path / "missing"], reset=True)
    assert chunks_by_doc(app) == before


def test_prune_after_a_change_of_directory_removes_a_deleted_file(
    make_app: Callable[..., ChipQA], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    corpus = tiny_corpus(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    app.ingest([Path("tiny")])
    (corpus / "beta.md").unlink()
    monkeypatch.chdir(tmp_path / "index")
    report = app.ingest([corpus], prune=True)
    assert report.removed == ["beta"]
    assert sorted(app.store.documents()) == ["alpha"]


def test_prune_never_removes_a_document_whose_file_exists(
    make_app: Callable[..., ChipQA], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    corpus = tiny_corpus(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    app.ingest([Path("tiny")])
    monkeypatch.chdir(tmp_path / "index")
    report = app.ingest([corpus / "alpha.md"], prune=True)
    assert report.removed == []
    assert sorted(app.store.documents()) == ["alpha", "beta"]


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` in Helvetica, with a correct cross-reference table."""
    ops = ["BT /F1 12 Tf 14 TL 72 720 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def test_mixed_folder_ingests_good_files_and_reports_bad_ones(make_app: Callable[..., ChipQA], tmp_path: Path) -> None:
    app = make_app()
    writable_copy(SEEDS / f"{ID_004}.txt", tmp_path / "existing")
    app.ingest([tmp_path / "existing"])
    existing = chunks_by_doc(app)[ID_004]

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"GPU\x00\x01\x02 table\x00" * 20)
    (folder / "latin1.txt").write_bytes("Nvidia's café order: 10,000 GPUs.".encode("latin-1"))
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (folder / "setup.exe").write_bytes(b"MZ\x90\x00")
    (folder / "meta_fleet.md").write_text(
        "# Meta expands its GPU fleet\n\nMeta acquired 350,000 H100 GPUs by the end of 2024, it said.\n",
        encoding="utf-8",
    )
    (folder / "oracle_page.html").write_text(
        "<html><head><title>Oracle orders Blackwell chips</title><script>var x = 1;</script></head><body>"
        "<nav>Home | Contact us</nav><h1>Oracle orders Blackwell chips</h1>"
        "<p>Oracle will deploy 131,072 Blackwell GPUs in its cloud, it said on Tuesday.</p>"
        "<footer>All rights reserved</footer></body></html>",
        encoding="utf-8",
    )
    (folder / "xai_report.pdf").write_bytes(
        minimal_pdf(["xAI builds the Colossus cluster", "xAI installed 100,000 Nvidia H100 GPUs in Memphis."])
    )

    report = app.ingest([folder])
    assert sorted(report.added) == ["meta_fleet", "oracle_page", "xai_report"]
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.txt", "notes.docx", "setup.exe"}
    for name, keyword in [
        ("empty.txt", "empty"),
        ("binary.txt", "binary"),
        ("latin1.txt", "utf-8"),
        ("notes.docx", ".docx"),
        ("setup.exe", ".exe"),
    ]:
        assert keyword in reasons[name].lower()
        assert "\n" not in reasons[name] and len(reasons[name]) < 120
    rendered = format_ingest(report).splitlines()
    for name in reasons:
        assert sum(name in line and "skipped" in line for line in rendered) == 1

    stored = chunks_by_doc(app)
    assert stored[ID_004] == existing, "a document already in the index was changed"
    texts = {doc_id: " ".join(t for _, _, t in chunks.values()) for doc_id, chunks in stored.items()}
    assert "350,000 H100 GPUs" in texts["meta_fleet"]
    assert "131,072 Blackwell GPUs" in texts["oracle_page"]
    assert "100,000 Nvidia H100 GPUs" in texts["xai_report"]
    html = app.store.document("oracle_page")
    assert html is not None and html.title == "Oracle orders Blackwell chips"
    assert "Contact us" not in html.text and "var x" not in html.text
    assert app.store.document("meta_fleet").title == "Meta expands its GPU fleet"  # type: ignore[union-attr]
    assert_consistent(app)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file_is_reported(make_app: Callable[..., ChipQA], tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("Nvidia sold 10,000 GPUs.", encoding="utf-8")
    locked.chmod(0)
    try:
        report = make_app().ingest([tmp_path])
    finally:
        locked.chmod(0o644)
    assert [(s.path.name, s.reason) for s in report.skipped] == [("locked.txt", "permission denied")]
    assert report.added == []
