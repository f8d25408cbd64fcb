"""score_all, our fast scoring of every match, against Whoosh's own matchers."""

import random

import pytest
import whoosh.index
from hypothesis import given, settings, strategies as st
from whoosh import query as wq

from search.engines.whoosh.index import INDEXED_LANGUAGES, build_schema
from search.engines.whoosh.query import parse
from search.errors import SearchTimeout
from search.limits import Deadline
from search.engines.whoosh.proximity import closeness
from search.engines.whoosh.ranking import PROXIMITY_DOCS, LanguageBM25F, Proximity, score_all

ARTICLES = [
    ("de", "Truppen verlassen den Irak", "Die amerikanischen Truppen verlassen den Irak. Die Soldaten gehen nach Hause."),
    ("de", "Regierung in Bagdad", "Die Regierung in Bagdad verhandelt mit den USA über US-Truppen und Basen."),
    ("de", "Wetter", "Morgen regnet es im Norden, die Truppen der Wetterfrösche irren selten."),
    ("nl", "Troepen uit Irak", "De Amerikaanse troepen vertrekken uit Irak, zegt de regering in Bagdad."),
    ("nl", "Kabinet", "Het kabinet wil de regels aanpassen; de troepen blijven."),
    ("en", "Troops leave Iraq", "American troops are leaving Iraq, the government in Baghdad said."),
    ("en", "Prime minister", "The prime minister met the troops; the minister of defence was there too."),
    ("ar", "القوات الأمريكية", "القوات الأمريكية تغادر العراق والحكومة في بغداد ترحب"),
    ("ar", "الحكومة", "الحكومة العراقية تتفاوض مع الولايات المتحدة حول القوات"),
]

QUERIES = [
    "Truppen", "troops Iraq", "القوات الأمريكية", '"prime minister"', '"troops are leaving Iraq"', '"Truppen Irak"~4',
    '"den Irak"', '"Regierung Bagdad"~2', "Irak AND Truppen", "troepen OR Truppen",
    "Truppen -Wetter", "Irak NOT Basen", "Trupp*", "Bag?ad", "title:Truppen", "lang:de Truppen", "lang:nl -kabinet",
    "US-Truppen", "(Irak OR Bagdad) Truppen", "the troops of the minister in Iraq", "nichts",
]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """An index of three segments, one with a deleted article."""
    ix = whoosh.index.create_in(str(tmp_path_factory.mktemp("segments")), build_schema())
    for part in (ARTICLES[:3], ARTICLES[3:6], ARTICLES[6:]):
        with ix.writer() as w:
            w.merge = False
            for lang, title, body in part:
                w.add_document(id=title, lang=lang, title=title, body=body, exact=f"{title}\n{body}",
                               **{f"title_{lang}": title, f"body_{lang}": body})
    with ix.writer() as w:
        w.merge = False
        w.delete_by_term("id", "Wetter")
    with ix.searcher(weighting=LanguageBM25F()) as s:
        assert len(s.leaf_searchers()) == 3 and s.reader().has_deletions()
        yield s


def whoosh_scores(searcher, q) -> dict[int, float]:
    return dict(searcher.search(q, limit=None).items())


def without_proximity(q: wq.Query) -> wq.Query:
    """The query without its proximity bonuses, which are ours alone (Whoosh
    has no such query: test_proximity_bonus_is_its_definition checks them)."""
    if isinstance(q, wq.AndMaybe) and isinstance(q.b, (Proximity, wq.Or)) and all(
            isinstance(x, Proximity) for x in ([q.b] if isinstance(q.b, Proximity) else q.b.subqueries)):
        return without_proximity(q.a)
    return q.apply(without_proximity)


@pytest.mark.parametrize("text", QUERIES)
def test_scores_are_whooshs_own(segmented, text):
    parsed = parse(text, INDEXED_LANGUAGES)
    for q in map(without_proximity, (parsed.query, parsed.combined({"de": 0.5, "nl": 0.25, "en": 0.8}))):
        expected = whoosh_scores(segmented, q)
        assert expected or text == "nichts"
        assert score_all(segmented, q) == pytest.approx(expected, rel=1e-12)


@pytest.fixture(scope="module")
def wordy(tmp_path_factory):
    """Two segments of 400 articles each of a few words repeated in every
    order (posting lists of several blocks), with deletions in both."""
    rng = random.Random(5)
    vocabulary = "harbour ship ferry crane storm pier tide dock".split()
    ix = whoosh.index.create_in(str(tmp_path_factory.mktemp("wordy")), build_schema())
    for part in range(2):
        with ix.writer() as w:
            w.merge = False
            for n in range(400):
                body = " ".join(rng.choices(vocabulary, k=rng.randint(3, 30)))
                w.add_document(id=f"{part}-{n}", lang="en", title="", body=body, exact=body, body_en=body)
    with ix.writer() as w:
        w.merge = False
        for n in range(0, 800, 7):
            w.delete_by_term("id", f"{n % 2}-{n // 2}")
    with ix.searcher(weighting=LanguageBM25F()) as s:
        assert len(s.leaf_searchers()) == 2 and s.reader().has_deletions()
        yield s


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_phrase_scores_are_whooshs_own_for_any_words_and_slop(wordy, data):
    field = data.draw(st.sampled_from(["body_en", "exact"]))
    terms = [t.decode() for t in wordy.lexicon(field)]
    words = data.draw(st.lists(st.sampled_from(terms), min_size=1, max_size=4))
    q = wq.Phrase(field, words, slop=data.draw(st.integers(1, 4)), boost=data.draw(st.sampled_from([1.0, 2.5])))
    assert score_all(wordy, q) == pytest.approx(whoosh_scores(wordy, q), rel=1e-12)
    # As an exact-form bonus, only where another query matched:
    bonus = wq.AndMaybe(wq.Term(field, data.draw(st.sampled_from(terms))), q)
    assert score_all(wordy, bonus) == pytest.approx(whoosh_scores(wordy, bonus), rel=1e-12)


def test_scores_of_whoosh_query_types_we_do_not_build(segmented):
    for q in (wq.Not(wq.Term("lang", "de")), wq.Or([wq.Term("body_de", "trupp"), wq.Not(wq.Term("lang", "en"))]),
              wq.And([wq.Not(wq.Term("lang", "en")), wq.Not(wq.Term("lang", "ar"))]), wq.Every()):
        assert score_all(segmented, q) == pytest.approx(whoosh_scores(segmented, q), rel=1e-12)


def test_scoring_stops_at_its_deadline(segmented):
    with pytest.raises(SearchTimeout):
        score_all(segmented, parse("Truppen", INDEXED_LANGUAGES).query, deadline=Deadline(0.0, start=0.0))


@pytest.mark.parametrize("text", [t for t in QUERIES if "*" not in parse(t, INDEXED_LANGUAGES).parts])
def test_weighting_a_language_scales_its_articles_scores_and_keeps_their_order(segmented, text):
    """Exact-form and phrase bonuses survive a language's weight: it
    multiplies every score of that language's articles, nothing else."""
    parsed = parse(text, INDEXED_LANGUAGES)
    weights = {"de": 0.5, "nl": 0.25, "en": 0.8, "ar": 1.0}
    plain, weighted = score_all(segmented, parsed.query), score_all(segmented, parsed.combined(weights))
    lang = {d: segmented.stored_fields(d)["lang"] for d in plain}
    assert weighted == pytest.approx({d: s * weights[lang[d]] for d, s in plain.items()}, rel=1e-12)


@settings(max_examples=400)
@given(st.lists(st.integers(0, 40), max_size=6, unique=True).map(sorted),
       st.lists(st.integers(0, 40), max_size=6, unique=True).map(sorted), st.integers(1, 10))
def test_closeness_is_its_definition(first, second, window):
    """The closest pair: 1/d² with the second word d positions after the
    first, 1/(d+1)² the other way round, nothing beyond the window."""
    values = [1 / (b - a) ** 2 if b > a else 1 / (a - b + 1) ** 2 for a in first for b in second if a != b and abs(a - b) <= window]
    assert closeness(first, second, window) == pytest.approx(max(values, default=0.0))


def test_proximity_bonus_is_its_definition(wordy):
    """For the best PROXIMITY_DOCS documents: for each consecutive pair of
    words, the closeness of their positions in the text times the mean of
    their scores there."""
    words = (("harbour",), ("crane",), ("storm",))
    base = wq.Or([wq.Term("body_en", w[0]) for w in words])
    bonus = Proximity("body_en", words, 1.5)
    with_bonus, without = score_all(wordy, wq.AndMaybe(base, bonus)), score_all(wordy, base)
    top = sorted(without, key=without.__getitem__, reverse=True)[:PROXIMITY_DOCS]
    scores = {w: score_all(wordy, wq.Term("body_en", w[0])) for w in words}
    expected = dict(without)
    for d in top:
        text = wordy.stored_fields(d)["body"].split()
        at = {w: [i for i, x in enumerate(text) if x == w[0]] for w in words}
        expected[d] += 1.5 * sum(closeness(at[a], at[b]) * (scores[a][d] + scores[b][d]) / 2
                                 for a, b in zip(words, words[1:]) if at[a] and at[b])
    assert with_bonus == pytest.approx(expected, rel=1e-12)
    assert sum(with_bonus[d] > without[d] for d in top) > len(top) // 2  # the bonus was given, and often


def test_words_standing_together_rank_first_the_phrase_before_all(tmp_path):
    from search.engines.whoosh.index import Index
    from search.engines.whoosh.searching import search

    from .conftest import write_jsonl

    filler = "the report said that officials met on monday to discuss the plans for the coming year"
    bodies = {  # all of one length: only where the words stand differs
        "scattered": f"harbour the old near {filler} {filler} crane",
        "near": f"{filler} crane near the old harbour {filler}",
        "reversed": f"{filler} the crane harbour old near {filler}",
        "phrase": f"{filler} the harbour crane old near {filler}",
    }
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": i, "lang": "en", "title": "News", "body": b} for i, b in bodies.items()])
    ix = Index(tmp_path / "ix")
    ix.update([tmp_path / "in"])
    with ix.searcher() as s:
        assert [h.id for h in search(s, "harbour crane").results] == ["phrase", "reversed", "near", "scattered"]


def test_scores_combine_as_their_definitions():
    """Unions and the best-of fold over numpy arrays (any number of parts,
    overlapping anyhow) give what the matchers' definitions give, and the
    best documents come first with ties in index order."""
    from search.engines.whoosh.ranking import Scores, _best_of, _sum

    rng = random.Random(7)
    for _ in range(200):
        parts = [{d: rng.choice([0.5, 1.0, rng.random()]) for d in rng.sample(range(40), rng.randint(0, 15))}
                 for _ in range(rng.randint(1, 4))]
        added: dict[int, float] = {}
        best: dict[int, float] = {}
        for part in parts:
            for d, s in part.items():
                added[d] = added.get(d, 0.0) + s
                best[d] = s if d not in best else max(best[d], s) + 0.3 * min(best[d], s)
        scores = [Scores.of(part) for part in parts]
        assert dict(_sum(scores).items()) == pytest.approx(added, rel=1e-12)
        assert dict(_best_of(scores, 0.3).items()) == pytest.approx(best, rel=1e-12)
        k = rng.randint(1, 12)
        assert Scores.of(best).best(k).tolist() == sorted(best, key=lambda d: (-best[d], d))[:k]
