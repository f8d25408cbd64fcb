"""Shared fixtures: real Whoosh indexes on disk, built from real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from search.index import Index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CORPORA = ROOT.parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Index:
    """The bundled seed articles, indexed once for the whole session (read-only)."""
    ix = Index(tmp_path_factory.mktemp("seed-index"))
    ix.update([SEEDS])
    return ix


@pytest.fixture
def searcher(seed_index):
    with seed_index.searcher() as s:
        yield s


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def articles_dir(tmp_path) -> Path:
    """A folder with a copy of the seeds, free to change."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder
