"""Two-stage search over one library.

Stage 1 asks the vector store for the nearest segment vectors to the query vector (a store
that supports filters applies folder, date and duration itself; otherwise they are applied
to its answer, asking again for more when too few pass);
stage 2 rescores those candidates with the model's reranker over their stored clip
and frame tokens; neighbouring segments of one file then merge into moments.

Asked for one moment per video, stage 1 hands on at most a video's few best segments, asking the store
for more until enough videos are among them, so the reranker's work stays that of one page.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from engine.api.types import Moment
from engine.errors import QueryError
from engine.search.filters import SearchFilters
from engine.search.moments import ScoredSegment, drop_copies, merge_margin, merge_segments, video_key
from engine.settings import MAX_RESULTS

MAX_QUERY_CHARS = 2000
MAX_OVERFETCH_ROUNDS = 4
LISTED_AT_MOST = 8192      # segments in the places asked for (a video, a small folder) that are searched by id
SEGMENTS_PER_VIDEO = 4     # one moment per video: a video's best segments by stage 1 that are reranked
WIDEST_PER_VIDEO = 16000   # ... and the most nearest segments asked of the store to find enough videos


@dataclass(frozen=True)
class _Candidates:
    ids: np.ndarray
    stage1: np.ndarray
    rows: list

    def first(self, n: int) -> "_Candidates":
        return _Candidates(self.ids[:n], self.stage1[:n], self.rows[:n])

    def at_most_per_file(self, n: int) -> "_Candidates":
        """The first ``n`` candidates of each file, in the same order (copies of a video are files apart)."""
        seen: dict[int, int] = {}
        keep = []
        for j, row in enumerate(self.rows):
            seen[row.file_id] = seen.get(row.file_id, 0) + 1
            if seen[row.file_id] <= n:
                keep.append(j)
        return _Candidates(self.ids[keep], self.stage1[keep], [self.rows[j] for j in keep])

    def first_places(self, n: int) -> "_Candidates":
        """The first candidates that hold ``n`` places in videos (copies of a video's place count once)."""
        seen: set[tuple] = set()
        for j, row in enumerate(self.rows):
            seen.add(_place(row))
            if len(seen) > n:
                return self.first(j)
        return self

    @property
    def places(self) -> int:
        return len({_place(row) for row in self.rows})

    @property
    def videos(self) -> int:
        """Videos among the candidates, copies of one video counted once."""
        return len({video_key(row) for row in self.rows})


def _place(row) -> tuple:
    """A place in a video, the same in each copy of it."""
    return video_key(row), row.start, row.end


_NONE = _Candidates(np.zeros(0, np.int64), np.zeros(0, np.float32), [])


class Searcher:
    def __init__(self, catalog, vectors, model, settings) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.model = model
        self.settings = settings

    # -- public --------------------------------------------------------------
    # ``per_video``: k videos, each with its best moment, instead of the k best moments.
    def search_text(self, query: str, k: int = 10, filters: SearchFilters | None = None,
                    rerank: bool = True, per_video: bool = False) -> list[Moment]:
        text = self._encode_query(query)
        return self._search(text.vector[0], k, filters or SearchFilters(), text if rerank else None,
                            per_video=per_video)

    def search_rgb(self, rgb: np.ndarray, k: int = 10, filters: SearchFilters | None = None,
                   per_video: bool = False) -> list[Moment]:
        return self.search_frames(rgb[None], k, filters, per_video)

    def search_vector(self, vector: np.ndarray, k: int, filters: SearchFilters | None = None,
                      exclude: set[int] = frozenset(), per_video: bool = False) -> list[Moment]:
        return self._search(np.asarray(vector, np.float32), k, filters or SearchFilters(), None, exclude,
                            per_video)

    def search_frames(self, rgb_frames: np.ndarray, k: int = 10, filters: SearchFilters | None = None,
                      per_video: bool = False) -> list[Moment]:
        """A short video as the query: its frames [n, H, W, 3], in time order."""
        return self._search(self.frames_vector(rgb_frames), k, filters or SearchFilters(), None, per_video=per_video)

    def frames_vector(self, rgb_frames: np.ndarray) -> np.ndarray:
        """Frames [n, H, W, 3] (an image is one; at most the model's frames per clip are used) in the clip space,
        as the indexer puts a moment there: the clip encoder over their frame features."""
        info = self.model.info
        feat = self.model.encode_frames(rgb_frames[:info.frames_per_clip])
        frames = np.zeros((1, info.frames_per_clip, info.embed_dim), np.float32)
        mask = np.zeros((1, info.frames_per_clip), np.float32)
        frames[0, :len(feat)] = feat
        mask[0, :len(feat)] = 1.0
        return self.model.encode_clips(frames, mask).vector[0]

    # -- stages --------------------------------------------------------------
    def _encode_query(self, query):
        if not isinstance(query, str) or not query.strip():
            raise QueryError("type a few words describing the moment to find")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is {len(query)} characters long; keep it under {MAX_QUERY_CHARS}")
        return self.model.encode_text([query.strip()])

    def _search(self, vector, k: int, filters: SearchFilters, text, exclude: set[int] = frozenset(),
                per_video: bool = False):
        if k < 1:
            raise QueryError(f"ask for at least one result, not {k}")
        if k > MAX_RESULTS:
            raise QueryError(f"ask for at most {MAX_RESULTS} results, not {k}")
        depth = max(self.settings.rerank_depth, 4 * k)
        if per_video:
            cand = self._stage1_per_video(vector, depth, k, filters, exclude)
        else:
            cand = self._stage1(vector, depth, filters, exclude)
        if not len(cand.ids):
            return []
        scores = cand.stage1
        if text is not None:
            scores = self._stage2(text, cand.ids)
        scored = [ScoredSegment(int(i), r.file_id, r.start, r.end, float(s), r)
                  for i, s, r in zip(cand.ids, scores, cand.rows) if np.isfinite(s)]
        # The margin that merges neighbours comes from the nearest candidates only, as many as any k reranks:
        # asking for more results (the window's next page) would otherwise widen it, and lengthen moments shown.
        nearest = np.asarray(scores[:self.settings.rerank_depth], dtype=np.float64)
        moments = []
        shown_videos: set[tuple] = set()
        merged = merge_segments(scored, merge_margin(nearest[np.isfinite(nearest)]))
        for m in drop_copies(merged, self._places(exclude)):
            if filters.min_score is not None and m.score < filters.min_score:
                continue
            if per_video:
                video = video_key(m.best.row)
                if video in shown_videos:
                    continue
                shown_videos.add(video)
            r = m.best.row
            moments.append(Moment(path=r.path, start=m.start, end=m.end, score=m.score, thumbnail=r.thumbnail,
                                  file_id=r.file_id, segment_ids=m.segment_ids, folder=r.folder,
                                  file_date=r.file_date, duration=r.duration or 0.0))
            if len(moments) == k:
                break
        return moments

    def _places(self, segment_ids) -> list[tuple[tuple, int, float, float]]:
        """(video key, file id, start, end) of each of ``segment_ids``: a search from them leaves out the same
        places in copies of their videos."""
        if not segment_ids:
            return []
        return [(video_key(r), r.file_id, r.start, r.end) for r in self.catalog.segments(list(segment_ids))]

    def _stage1(self, vector, depth: int, filters: SearchFilters, exclude) -> _Candidates:
        if filters.under:
            listed = self._stage1_among_listed(vector, depth, filters, exclude)
            if listed is not None:
                return listed
        elif self.vectors.supports_filters:
            return self._stage1_filtered_inside(vector, depth, filters, exclude)
        # Filters the store cannot apply (all of them for hnswlib; a folder inside a library folder for any
        # store) are checked on the rows, asking for more until enough pass.
        total = self.vectors.count
        if total == 0:
            return _NONE
        # Copies of a video hold its places more than once, and count once: a library of backups is asked for more.
        ask = min(depth, total)
        for _ in range(MAX_OVERFETCH_ROUNDS):
            found = self._checked(*self.vectors.search(vector, ask, filters=filters), filters, exclude)
            places = found.places
            if places >= min(depth, total) or ask >= total or (
                    places == len(found.ids) and not (filters.restricts_rows or exclude)):
                break
            ask = min(total, ask * 4)
        return found.first_places(depth)

    def _stage1_per_video(self, vector, depth: int, k: int, filters: SearchFilters, exclude) -> _Candidates:
        """Up to ``depth`` candidates, at most SEGMENTS_PER_VIDEO of each file, from enough of the nearest
        segments to cover ``k`` videos (or all there are)."""
        total = self.vectors.count
        if total == 0:
            return _NONE
        wide = min(depth, total)
        for _ in range(MAX_OVERFETCH_ROUNDS):
            found = self._stage1(vector, wide, filters, exclude)
            few = found.at_most_per_file(SEGMENTS_PER_VIDEO)
            if few.videos >= k or len(found.ids) < wide or wide >= min(total, WIDEST_PER_VIDEO):
                break
            wide = min(total, wide * 4, WIDEST_PER_VIDEO)
        return few.first_places(depth)

    def _stage1_among_listed(self, vector, depth: int, filters: SearchFilters, exclude) -> _Candidates | None:
        """The places asked for hold few segments (one video, a small folder): the store searches just those,
        which finds them however far down the whole library they would rank. None when they hold too many."""
        (min_date, max_date), (min_duration, max_duration) = (
            [b if b is not None and math.isfinite(b) else None for b in bounds or (None, None)]
            for bounds in (filters.date_range, filters.duration_range))
        listed = self.catalog.segment_ids(under=filters.under, min_date=min_date, max_date=max_date,
                                          min_duration=min_duration, max_duration=max_duration,
                                          limit=LISTED_AT_MOST + 1)
        if len(listed) > LISTED_AT_MOST:
            return None
        listed = listed[~np.isin(listed, np.fromiter(exclude, np.int64, len(exclude)))]
        if not len(listed):
            return _NONE
        return self._checked(*self.vectors.search(vector, min(depth, len(listed)), allowed_ids=listed,
                                                  filters=filters), filters, exclude)

    def _stage1_filtered_inside(self, vector, depth: int, filters: SearchFilters, exclude) -> _Candidates:
        """The vector store applies the filters, so one search mostly gets them; excluded ids can take at most
        len(exclude) places. Copies of a video hold its places more than once and count once, and rows are still
        checked (a store's copy of a file's facts may lag the catalog): where these leave fewer than ``depth``
        places, the store is asked for more."""
        total = self.vectors.count
        ask = depth + len(exclude)
        for _ in range(MAX_OVERFETCH_ROUNDS):
            ids, sims = self.vectors.search(vector, ask, filters=filters)
            found = self._checked(ids, sims, filters, exclude)
            if found.places >= depth or ids.shape[1] < ask or ask >= total:   # (fewer than asked: all that match)
                break
            ask = min(total, ask * 4)
        return found.first_places(depth)

    def _checked(self, ids: np.ndarray, sims: np.ndarray, filters: SearchFilters, exclude) -> _Candidates:
        """The store's answer to one query (rows [1, k]) with their catalog rows, less the ids gone from the
        catalog, excluded, or failing the filters."""
        ids, sims = ids[0], sims[0]
        rows_by_id = {r.id: r for r in self.catalog.segments(ids.tolist())}
        keep = [j for j, i in enumerate(ids)
                if int(i) in rows_by_id and int(i) not in exclude and filters.accepts(rows_by_id[int(i)])]
        return _Candidates(ids[keep].astype(np.int64), sims[keep].astype(np.float32),
                           [rows_by_id[int(ids[j])] for j in keep])

    def _stage2(self, text, ids: np.ndarray) -> np.ndarray:
        """Reranker scores aligned with ``ids``; -inf for a segment deleted since stage 1."""
        emb = self.catalog.segment_embeddings(ids.tolist())
        scores = np.full(len(ids), -np.inf, np.float32)
        if len(emb.ids):
            fused = self.model.rerank(text.row(0), emb.clip_tokens, emb.frame_tokens, emb.frame_mask)
            position = {int(i): j for j, i in enumerate(ids)}
            for i, s in zip(emb.ids, np.asarray(fused, np.float32)):
                scores[position[int(i)]] = s
        return scores
