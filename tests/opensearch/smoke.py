#!/usr/bin/env python3
"""Smoke check of a cluster started by ./cluster (stdlib only).

    tests/opensearch/cluster start 2 19200 /tmp/os-c2
    python3 tests/opensearch/smoke.py /tmp/os-c2          # analyzers, bulk, highlight, aggs
    python3 tests/opensearch/smoke.py /tmp/os-c2 --kill   # ... then kill -9 a node, search again

--kill kills a node that is NOT the elected cluster manager (with 2 nodes only one of them
is in the voting configuration: killing that one leaves no cluster manager), then checks that
a search through a survivor still finds every document and that health turns yellow.
"""
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

INDEX = "smoke-news"


def call(base, method, path, body=None, ndjson=False, timeout=30):
    data = None
    headers = {}
    if body is not None:
        if ndjson:
            data = ("\n".join(json.dumps(x, ensure_ascii=False) for x in body) + "\n").encode()
            headers["Content-Type"] = "application/x-ndjson"
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ok(base, method, path, body=None, **kw):
    status, res = call(base, method, path, body, **kw)
    if status >= 300:
        raise SystemExit(f"{method} {path} -> {status}: {json.dumps(res)[:800]}")
    return res


def tokens(base, body):
    return [t["token"] for t in ok(base, "POST", f"/{INDEX}/_analyze", body)["tokens"]]


def main():
    d = sys.argv[1]
    env = dict(
        line.strip().split("=", 1) for line in open(os.path.join(d, "cluster.env")) if "=" in line
    )
    urls = env["OS_URLS"].strip('"').split()
    base = urls[0]
    call(base, "DELETE", f"/{INDEX}")

    settings = {
        "number_of_shards": 2,
        "number_of_replicas": 1,
        # a node that dies should not keep its shards unassigned for the default minute
        "unassigned.node_left.delayed_timeout": "0s",
        "analysis": {
            "filter": {
                "de_stem": {"type": "stemmer", "language": "light_german"},
                "nl_snow": {"type": "snowball", "language": "Dutch"},
                "en_stem": {"type": "stemmer", "language": "english"},
                "en_poss": {"type": "stemmer", "language": "possessive_english"},
            },
            "analyzer": {
                "ar_custom": {
                    "tokenizer": "standard",
                    "filter": ["lowercase", "decimal_digit", "arabic_normalization", "arabic_stem"],
                },
                "de_custom": {
                    "tokenizer": "standard",
                    "filter": ["lowercase", "german_normalization", "de_stem"],
                },
                "nl_custom": {"tokenizer": "standard", "filter": ["lowercase", "nl_snow"]},
                "en_custom": {"tokenizer": "standard", "filter": ["en_poss", "lowercase", "en_stem"]},
            },
        },
    }
    text = lambda an: {"type": "text", "analyzer": an}  # noqa: E731
    mappings = {
        "properties": {
            "lang": {"type": "keyword"},
            "source": {"type": "keyword"},
            "title": {
                "type": "text",
                "fields": {
                    "ar": text("arabic"), "de": text("german"), "nl": text("dutch"),
                    "en": text("english"), "ar_custom": text("ar_custom"),
                },
            },
            "body": {
                "type": "text",
                "fields": {"ar": text("arabic"), "de": text("german"), "nl": text("dutch"), "en": text("english")},
            },
        }
    }
    ok(base, "PUT", f"/{INDEX}", {"settings": settings, "mappings": mappings})

    print("== _analyze")
    cases = [
        ("arabic", "والمكتبات الكبيرة"), ("ar_custom", "المكتبات الكبيرة ١٢٣"),
        ("german", "Die Häuser wurden verkauft"), ("de_custom", "Die Häuser wurden verkauft"),
        ("dutch", "De fietsen werden gestolen"), ("nl_custom", "De fietsen werden gestolen"),
        ("english", "The running dogs' owners"), ("en_custom", "The running dogs' owners"),
    ]
    for an, t in cases:
        print(f"  {an:10s} {t!r:32s} -> {tokens(base, {'analyzer': an, 'text': t})}")
    print(f"  filters arabic_normalization,arabic_stem on 'أَلْمَكْتَبَاتُ' -> "
          f"{tokens(base, {'tokenizer': 'standard', 'filter': ['arabic_normalization', 'arabic_stem'], 'text': 'أَلْمَكْتَبَاتُ'})}")
    print(f"  filter german_normalization on 'Größe Häuser' -> "
          f"{tokens(base, {'tokenizer': 'standard', 'filter': ['lowercase', 'german_normalization'], 'text': 'Größe Häuser'})}")

    docs = [
        ("1", "ar", "aljazeera", "افتتاح المكتبات العامة في القاهرة", "افتتحت المكتبة الوطنية فروعا جديدة"),
        ("2", "ar", "bbc-ar", "انتخابات برلمانية جديدة", "المكتبات والجامعات تستعد للانتخابات"),
        ("3", "de", "dw", "Neue Häuser in Berlin verkauft", "Der Hausmarkt in Berlin wächst"),
        ("4", "de", "spiegel", "Bibliotheken schließen früher", "Die Bibliothek in Köln schließt"),
        ("5", "nl", "nos", "Fietsen gestolen in Amsterdam", "Meer fietsdiefstallen in de stad"),
        ("6", "nl", "nrc", "Nieuwe bibliotheken geopend", "De bibliotheek opent nieuwe vestigingen"),
        ("7", "en", "bbc", "Libraries reopen across the city", "The library opened new branches"),
        ("8", "en", "reuters", "Running costs of housing rise", "House prices keep running higher"),
    ]
    bulk = []
    for _id, lang, src, title, body in docs:
        bulk += [{"index": {"_index": INDEX, "_id": _id}}, {"lang": lang, "source": src, "title": title, "body": body}]
    r = ok(base, "POST", "/_bulk?refresh=true", bulk, ndjson=True)
    print(f"== _bulk: errors={r['errors']} items={len(r['items'])}")
    ok(base, "GET", f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=60s")

    def search(url):
        q = {
            "query": {"multi_match": {
                "query": "مكتبة Bibliothek bibliotheek library Häuser",
                "fields": ["title.ar", "title.de", "title.nl", "title.en", "body.ar", "body.de", "body.nl", "body.en"],
            }},
            "highlight": {"pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                          "fields": {"title.*": {}, "body.*": {}}},
            "aggs": {"by_lang": {"terms": {"field": "lang"}}},
            "size": 20,
        }
        return ok(url, "POST", f"/{INDEX}/_search", q)

    r = search(base)
    print(f"== search via {base}: hits={r['hits']['total']['value']} shards={r['_shards']}")
    for h in r["hits"]["hits"]:
        hl = sorted({s for v in h.get("highlight", {}).values() for s in v})
        print(f"  {h['_id']} {h['_source']['lang']} {h['_score']:.2f} {hl}")
    print("  by_lang:", {b["key"]: b["doc_count"] for b in r["aggregations"]["by_lang"]["buckets"]})
    before = sorted(h["_id"] for h in r["hits"]["hits"])
    shards = ok(base, "GET", f"/_cat/shards/{INDEX}?h=shard,prirep,state,node&format=json")
    print("  shards:", ", ".join(f"{x['shard']}{x['prirep']}={x['state']}@{x['node']}" for x in shards))

    if "--kill" not in sys.argv:
        return
    manager = ok(base, "GET", "/_cat/cluster_manager?format=json")[0]["node"]
    pids = env["OS_PIDS"].strip('"').split()
    victim = next(i for i in range(len(urls)) if f"node-{i}" != manager)
    survivor = urls[(victim + 1) % len(urls)]
    print(f"== cluster manager is {manager}; kill -9 node-{victim} (pid {pids[victim]}) mid-way")
    os.kill(int(pids[victim]), signal.SIGKILL)
    t0 = time.time()
    r = search(survivor)
    print(f"  search via {survivor} right after the kill: {time.time() - t0:.2f}s hits={r['hits']['total']['value']} "
          f"shards={r['_shards']} same_ids={sorted(h['_id'] for h in r['hits']['hits']) == before}")
    st, hres = call(survivor, "GET", f"/_cluster/health?wait_for_nodes={len(urls) - 1}&timeout=60s")
    print(f"  health via survivor: {st} status={hres.get('status')} nodes={hres.get('number_of_nodes')} "
          f"unassigned={hres.get('unassigned_shards')} after {time.time() - t0:.1f}s")
    r = search(survivor)
    print(f"  search via {survivor} after the node left: hits={r['hits']['total']['value']} shards={r['_shards']} "
          f"same_ids={sorted(h['_id'] for h in r['hits']['hits']) == before}")


if __name__ == "__main__":
    main()
