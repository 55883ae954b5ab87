"""Shared libraries: indexing on a Ray cluster with one and two workers, searching through Milvus and hnswlib.

    .venv/bin/python benchmarks/scaling.py [--videos 24] [--queries 100] [--ann-vectors 100000]

Starts its own engines on loopback, as the tests do: a PostgreSQL server (a fresh database per run),
a Milvus Lite server and a Ray head node with two CPUs. The library is shapes-world videos
(seed 4242) indexed with the built-in model.

  index    the same folder indexed four times from scratch: local worker processes (the desktop's
           path: SQLite + hnswlib) with 1 and 2 workers, and `index --ray` on the shared
           configuration (PostgreSQL + Milvus) with 1 and 2 Ray workers. Seconds of video per
           wall-clock second, and the indexing process's own CPU time.
  search   Library.search over the same moments, one query at a time (shot captions of the set):
           the shared library (vectors in Milvus, catalog in PostgreSQL) and the embedded one
           (hnswlib, SQLite). p50 / p95 of the whole search.
  ann      the vector engines alone on N CLIP-like vectors and text-like queries (benchmarks/moments_gen.py):
           insert time, p50 latency of one top-100 query, recall@10 against exact search.
Prints tables, writes benchmarks/out/scaling.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchmarks.common import OUT, ROOT, print_table, write_json  # noqa: E402

MODEL = ROOT / "assets" / "models" / "clipseek-shapes"
SEED = 4242


def _videos(count: int) -> tuple[Path, list[str]]:
    from engine.shapes.generate import generate_dataset, load_annotations

    data = OUT / f"scaling-videos-{count}-seed{SEED}"
    if not (data / "annotations.json").is_file():
        generate_dataset(data, n_videos=count, seed=SEED)
    captions = sorted({shot["caption"] for video in load_annotations(data) for shot in video["shots"]})
    return data / "videos", captions


def _library(folder: Path, settings):
    from engine.api.library import Library

    folder.mkdir(parents=True, exist_ok=True)
    settings.save(folder / "settings.json")
    return Library.open(folder, model=MODEL)


def _index(lib, videos: Path, ray_address: str | None) -> dict:
    import resource

    lib.add_folder(videos)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    final = lib.index(ray_address=ray_address)
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    local_workers = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    assert final.failed == 0 and final.indexed > 0, final
    return {"files": final.indexed, "video_seconds": round(final.seconds_done, 1), "wall_seconds": round(wall, 1),
            "x_real_time": round(final.seconds_done / wall, 2), "indexer_cpu_seconds": round(own, 1),
            "local_worker_cpu_seconds": round(local_workers, 1), "moments": lib.catalog.live_segment_count()}


def _search_latency(lib, captions: list[str], n: int) -> dict:
    queries = [captions[i % len(captions)] for i in range(n)]
    lib.search(queries[0], k=10)          # model and vectors open; not timed
    times = []
    for q in queries:
        t = time.perf_counter()
        lib.search(q, k=10)
        times.append((time.perf_counter() - t) * 1000)
    return {"queries": n, "p50_ms": round(float(np.percentile(times, 50)), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1)}


def _ann(n: int, milvus_uri: str) -> list[dict]:
    """hnswlib and Milvus alone: N vectors through each engine's own API, 100 queries."""
    import hnswlib
    from pymilvus import DataType, MilvusClient

    from benchmarks import moments_gen as gen
    from engine.vectors.milvus_store import GRPC_OPTIONS

    dim = gen.D
    space = gen.make_space(0)
    vectors = np.concatenate([gen.vectors(space, c) for c in range(-(-n // gen.CHUNK))])[:n]
    queries = gen.queries(space, 100)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    rows = []

    t = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, M=16, ef_construction=200)
    index.add_items(vectors, np.arange(n))
    insert = time.perf_counter() - t
    index.set_ef(200)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        labels, _ = index.knn_query(q, k=100)
        times.append((time.perf_counter() - t) * 1000)
        found.append(labels[0][:10])
    rows.append(_ann_row("hnswlib (in process)", n, insert, times, found, exact))

    client = MilvusClient(uri=milvus_uri, grpc_options=GRPC_OPTIONS)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    params.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
    try:
        t = time.perf_counter()
        for start in range(0, n, 5000):
            chunk = vectors[start:start + 5000]
            client.insert(name, [{"id": start + i, "vector": v.tolist()} for i, v in enumerate(chunk)])
        client.flush(name)
        client.load_collection(name)
        insert = time.perf_counter() - t
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            hits = client.search(name, data=[q.tolist()], limit=100, search_params={"params": {"ef": 200}},
                                 output_fields=["id"])
            times.append((time.perf_counter() - t) * 1000)
            found.append([h["id"] for h in hits[0]][:10])
        rows.append(_ann_row("Milvus Lite (gRPC, loopback)", n, insert, times, found, exact))
    finally:
        client.drop_collection(name)
        client.close()
    return rows


def _ann_row(label, n, insert, times, found, exact) -> dict:
    recall = float(np.mean([len(set(map(int, f)) & set(map(int, e))) / 10 for f, e in zip(found, exact)]))
    return {"engine": label, "vectors": n, "insert_seconds": round(insert, 1),
            "p50_ms": round(float(np.percentile(times, 50)), 2), "p95_ms": round(float(np.percentile(times, 95)), 2),
            "recall_at_10": round(recall, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--ann-vectors", type=int, default=100_000)
    args = ap.parse_args(argv)

    from engine.settings import Settings
    from engine_servers.milvus import running_milvus
    from engine_servers.postgres import create_database, running_postgres
    from engine_servers.ray_cluster import running_ray_head

    videos, captions = _videos(args.videos)
    work = Path(tempfile.mkdtemp(prefix="clipseek-scaling-"))
    index_rows, search_rows = [], []
    with running_postgres() as pg, running_milvus() as milvus_uri, running_ray_head(cpus=2) as ray_address:
        embedded = shared = None
        for label, workers, on_ray in (("local processes, SQLite + hnswlib", 1, False),
                                       ("local processes, SQLite + hnswlib", 2, False),
                                       ("Ray, PostgreSQL + Milvus", 1, True),
                                       ("Ray, PostgreSQL + Milvus", 2, True)):
            settings = Settings(workers=workers)
            if on_ray:
                settings.catalog_url = create_database(pg)
                settings.vector_store = milvus_uri
            lib = _library(work / f"{'ray' if on_ray else 'local'}-{workers}", settings)
            row = {"path": label, "workers": workers, **_index(lib, videos, ray_address if on_ray else None)}
            index_rows.append(row)
            print(f"indexed: {row}", file=sys.stderr)
            if workers == 2:
                (embedded, shared) = (embedded, lib) if on_ray else (lib, shared)
            else:
                lib.close()
        for label, lib in (("hnswlib + SQLite (embedded)", embedded), ("Milvus + PostgreSQL (shared)", shared)):
            search_rows.append({"library": label, "moments": lib.catalog.live_segment_count(),
                                **_search_latency(lib, captions, args.queries)})
            lib.close()
        ann_rows = _ann(args.ann_vectors, milvus_uri) if args.ann_vectors else []

    print("\nindexing the same folder")
    print_table(["path", "workers", "files", "video s", "wall s", "x real time", "indexer CPU s", "local workers CPU s"],
                [[r["path"], r["workers"], r["files"], r["video_seconds"], r["wall_seconds"], r["x_real_time"],
                  r["indexer_cpu_seconds"], r["local_worker_cpu_seconds"]] for r in index_rows])
    print("\nsearching it (whole search: text encoder, ANN top 100, catalog rows, reranker)")
    print_table(["library", "moments", "queries", "p50 ms", "p95 ms"],
                [[r["library"], r["moments"], r["queries"], r["p50_ms"], r["p95_ms"]] for r in search_rows])
    if ann_rows:
        print("\nthe vector engines alone (top-100 query, ef 200)")
        print_table(["engine", "vectors", "insert s", "p50 ms", "p95 ms", "recall@10"],
                    [[r["engine"], r["vectors"], r["insert_seconds"], r["p50_ms"], r["p95_ms"], r["recall_at_10"]]
                     for r in ann_rows])
    path = write_json("scaling.json", {"index": index_rows, "search": search_rows, "ann": ann_rows,
                                       "videos": args.videos, "seed": SEED})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
