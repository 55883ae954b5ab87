"""The Library facade: the one object the command line and the window talk to.

A library is a folder (catalog.sqlite, settings.json, vectors/, thumbs/). The
catalog is the truth; the vector index is a cache repaired from it on open.
"""
from __future__ import annotations

import glob
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from engine.api.events import EventHub
from engine.api.model_registry import ModelEntry, ModelRegistry
from engine.api.playable_copies import PlayableCopies
from engine.api.types import FileStatus, FolderInfo, LibraryStatus, Moment, PlayableCopy, Problem, Progress
from engine.catalog import CATALOG_FILE, Catalog
from engine.catalog.copies import check_file, drop_copy, keep_copy, latest_copy, lost, restore_latest_copy
from engine.errors import ClipSeekError, LibraryError, MediaError, QueryError
from engine.indexer.control import IndexControl
from engine.indexer.pipeline import Indexer
from engine.indexer.plan import reconcile
from engine.indexer.scan import folder_prefix, is_video_name
from engine.indexer.watch import FolderWatcher
from engine.paths import default_library_dir, demo_library_dir
from engine.runtime.bundle import check_bundle
from engine.runtime.gpu import gpu_likely
from engine.search import SearchFilters, Searcher
from engine.settings import MAX_EXCLUDE_PATTERN, Settings
from engine.util.file_names import printable, storable
from engine.util.filelock import FileLock
from engine.vectors import BUILT_IN, VectorStore, open_vector_store
from engine.vectors.store import unsaved_notice

log = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model_fingerprint"
ACTIVE_MODEL_NAME_KEY = "active_model_name"
CATCH_UP_SECONDS = 1.0
LIBRARY_ID_KEY = "library_id"
DEMO_KEY = "demo"
IN_USE_LOCK = "open.lock"


class Library:
    """Open with ``Library.open(path, model=None)``; close with ``close()`` (or use ``with``)."""

    def __init__(self, path: Path, catalog: Catalog, registry: ModelRegistry, bundle_dir: Path,
                 settings: Settings) -> None:
        self.path = path
        self.catalog = catalog
        self.registry = registry
        self.bundle_dir = bundle_dir
        self.settings = settings
        self.events = EventHub()
        self.notices: list[str] = []
        self._model = None
        self._vectors: VectorStore | None = None
        self._vectors_checked = 0.0
        # Where the vectors live is fixed while the library is open (settings changes apply on reopening).
        self._vector_store = settings.vector_store
        self._own_index = settings.vector_store.strip().lower() in BUILT_IN   # hnswlib in this folder
        self._searcher: Searcher | None = None
        self._open_lock = threading.RLock()
        self._index_lock = FileLock(path / "index.lock")
        self._in_use: FileLock | None = None     # shared while open: the catalog is not put back under us
        self.bundle_info = registry.read_info(bundle_dir)
        self._playable = PlayableCopies()

    # -- opening ---------------------------------------------------------------
    @staticmethod
    def exists_at(path: str | Path) -> bool:
        """Whether ``path`` holds a library: its own catalog.sqlite, or the settings of a shared one."""
        path = Path(path).expanduser()
        return (path / CATALOG_FILE).is_file() or (path / "settings.json").is_file()

    @staticmethod
    def restore_catalog_copy(path: str | Path | None = None) -> str:
        """Put the newest copy kept of the library's catalog.sqlite in the place of the damaged one (which is kept,
        renamed); returns what was done, in a sentence. The library must not be open anywhere."""
        path = Path(path or default_library_dir()).expanduser().resolve()
        db_path = path / CATALOG_FILE
        if not lost(db_path) and check_file(db_path) is None:
            raise LibraryError(f"{db_path} is whole (SQLite's check finds nothing wrong); nothing was restored")
        lock = FileLock(path / "index.lock")
        if not lock.acquire():
            raise LibraryError(f"{path} is being indexed; stop the indexing (or close the window indexing it) first")
        alone = FileLock(path / IN_USE_LOCK)
        try:
            if not alone.acquire():
                raise LibraryError(f"{path} is open in ClipSeek (a window, or `clipseek watch`); close it first, then "
                                   "put the copy back")
            copy, kept = restore_latest_copy(db_path)
        finally:
            alone.release()
            lock.release()
        if kept is None:
            return f"put back {copy.describe()} in the place of the missing catalog"
        return f"put back {copy.describe()}; the damaged catalog is kept as {kept.name}"

    @classmethod
    def open(cls, path: str | Path | None = None, model: str | Path | None = None,
             settings: Settings | None = None, models_dir: Path | None = None,
             switching_model: bool = False) -> "Library":
        """Open (or create) the library at ``path``. ``switching_model``: opened only to change its model with
        ``set_model``, so a library whose model is not installed any more can still be switched."""
        path = Path(path or default_library_dir()).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise LibraryError(f"{path} is a file; a library is a folder")
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / "thumbs").mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot make the library folder {path}: {exc.strerror or exc}; "
                               "choose a folder you can write to") from exc
        settings = (settings or Settings.load(path / "settings.json")).validate()
        in_use = _in_use_lock(path)
        try:
            catalog = Catalog.open(path, url=settings.catalog_url or None)
        except BaseException:
            if in_use is not None:
                in_use.release()
            raise
        try:
            registry = ModelRegistry(models_dir)
            bundle_dir = registry.resolve(model, catalog.get_meta(ACTIVE_MODEL_NAME_KEY))
            lib = cls(path, catalog, registry, bundle_dir, settings)
            lib._in_use = in_use
            if not switching_model:
                lib._check_model_matches(explicit=model is not None)
        except BaseException:
            catalog.close()
            if in_use is not None:
                in_use.release()
            raise
        return lib

    def _check_model_matches(self, explicit: bool) -> None:
        fp = self.bundle_info.fingerprint
        active = self.catalog.get_meta(ACTIVE_MODEL_KEY)
        active_name = self.catalog.get_meta(ACTIVE_MODEL_NAME_KEY)
        in_use = [f for f in self.catalog.fingerprints_in_use() if f != fp]
        if active is None or (active != fp and not in_use):
            self._record_active_model()
        elif active == fp:
            return
        elif explicit:
            raise LibraryError(
                f"this library was indexed with another model ({active_name}); "
                f"searching it with {self.bundle_info.name} would mix two models. Open it without --model, or "
                f"switch models with `clipseek model use {self.bundle_info.name}` (this re-indexes every file)")
        elif active_name == self.bundle_info.name:
            # Another version under the same name (an update of ClipSeek or of the bundle): the old one is gone
            # and its embeddings cannot be searched with the new one, so the files are indexed again.
            count = self.set_model(self.bundle_dir)
            self.notice(f"the model {active_name} was updated since this library was indexed; its {count} "
                        "indexed file(s) will be indexed again with the new version")
        else:
            raise LibraryError(
                f"this library was indexed with the model {active_name}, which is not installed any more; import "
                f"it again (`clipseek model import PATH`) or switch to {self.bundle_info.name} with "
                f"`clipseek model use {self.bundle_info.name}` (this re-indexes every file)")

    def _record_active_model(self) -> None:
        self.catalog.set_meta(ACTIVE_MODEL_KEY, self.bundle_info.fingerprint)
        self.catalog.set_meta(ACTIVE_MODEL_NAME_KEY, self.bundle_info.name)

    def _close_vectors(self) -> None:
        """The library's own index file is written only by whoever holds the library's lock: a window
        searching while a command indexes must not write it too (the catalog replays into it on open)."""
        if not self._own_index or self._index_lock.held_by_us:
            self._vectors.close()
        elif self._index_lock.acquire():
            try:
                self._vectors.close()
            finally:
                self._index_lock.release()
        else:
            self._vectors.close(save=False)

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._open_lock:
            if self._vectors is not None:
                self._close_vectors()
                self._vectors = None
            self._searcher = None
            self.catalog.close()
            if self._in_use is not None:
                self._in_use.release()

    # -- lazily opened parts ---------------------------------------------------------
    @property
    def model(self):
        with self._open_lock:
            if self._model is None:
                from engine.runtime.model import load_model

                # What a text search runs; the frame and clip encoders open at the first search by image.
                self._model = load_model(self.bundle_dir, device=self.settings.device,
                                         graphs=("text_encoder", "reranker"), others_on_use=True)
            return self._model

    def prepare(self) -> None:
        """Open the model and the vector index now instead of at the first search.

        Reading the tokenizer holds the GIL for a fifth of a second (the tokenizers library parses
        its vocabulary without releasing it); a window calls this on a worker as it opens, so that
        pause falls at start-up rather than into the first search, typing or indexing.
        """
        _ = self.model, self.vectors

    @property
    def vectors(self) -> VectorStore:
        with self._open_lock:
            if self._vectors is None:
                self._vectors = open_vector_store(self._vector_store or None, self.path,
                                                  self.bundle_info.embed_dim, self.bundle_info.fingerprint,
                                                  self.catalog, collection_prefix=f"clipseek_{self.library_id}")
                for notice in self._vectors.notices:
                    self.notice(notice)
            return self._vectors

    @property
    def is_demo(self) -> bool:
        """Whether this is a demo library (engine/api/demo.py), which holds generated videos, not the user's."""
        return self.catalog.get_meta(DEMO_KEY) == "1" or self.path == demo_library_dir().resolve()  # (made unmarked)

    def mark_as_demo(self) -> None:
        self.catalog.set_meta(DEMO_KEY, "1")

    @property
    def library_id(self) -> str:
        """Names this library's collections on a vector server that holds other libraries too; every
        machine sharing the catalog reads the same id."""
        with self.catalog.tx():
            value = self.catalog.get_meta(LIBRARY_ID_KEY)
            if value is None:
                value = uuid.uuid4().hex[:12]
                self.catalog.set_meta(LIBRARY_ID_KEY, value)
        return value

    @property
    def searcher(self) -> Searcher:
        with self._open_lock:
            if self._searcher is None:
                self._searcher = Searcher(self.catalog, self.vectors, self.model, self.settings)
            return self._searcher

    @property
    def model_info(self):
        return self.bundle_info

    @property
    def providers(self) -> list[str]:
        return list(self.model.providers)

    @property
    def decoding(self) -> str:
        """Where indexing decodes video: "cuda" (NVDEC, for files that need more than keyframes) or "cpu"."""
        from engine.media.hw_decode import hwaccel_for

        return hwaccel_for(self.settings.device) or "cpu"

    def subscribe(self, callback: Callable[[str, object], None]) -> Callable[[], None]:
        return self.events.subscribe(callback)

    def notice(self, text: str) -> None:
        """Something the user should read: kept in ``notices`` (the CLI prints them) and sent as a "notice" event."""
        self.notices.append(text)
        self.events.emit("notice", text)

    def _emit(self, name: str, payload: object = None) -> None:
        """Events of parts below the facade; their notices are kept in ``notices`` like ours."""
        if name == "notice":
            self.notice(str(payload))
        else:
            self.events.emit(name, payload)

    # -- folders -------------------------------------------------------------------
    @staticmethod
    def _readable_folder(path: str | Path) -> Path:
        """``path`` as the library stores a folder (absolute, links resolved), or a LibraryError saying why not."""
        if not str(path).strip():
            raise LibraryError("no folder given: name the folder of videos to add")
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder that can be read")
        folder = folder.resolve()
        if not storable(folder):
            raise LibraryError(f"{printable(folder)} has a name that is not valid UTF-8, so the library cannot "
                               "store it; rename it (or the folder holding it) and add it again")
        return folder

    def add_folder(self, path: str | Path) -> FolderInfo:
        folder = self._readable_folder(path)
        inner = []
        for existing in self.catalog.folder_rows():
            if Path(existing.path) == folder:
                return self._folder_info(existing.path)
            if _inside(folder, Path(existing.path)):
                raise LibraryError(f"{folder} is already in the library, as part of the folder {existing.path}, "
                                   "and its videos are indexed with that folder's")
            if _inside(Path(existing.path), folder):
                inner.append(existing.path)
        if inner:
            # A wider folder takes in the library folders inside it: their videos stay indexed.
            with self._writing():
                self.catalog.add_folder_over(str(folder), inner)
                self._sync_vectors()
            carried = self._carry_left_out_paths(folder, inner)
            self.notice(f"{folder} takes the place of {_listed(inner)} inside it; "
                        f"{'its' if len(inner) == 1 else 'their'} indexed videos are kept"
                        + (f", and the paths left out there stay out ({', '.join(carried)})" if carried else ""))
        else:
            self.catalog.add_folder(str(folder))
        self.events.emit("folders_changed")
        return self._folder_info(str(folder))

    def _carry_left_out_paths(self, folder: Path, inner: list[str]) -> list[str]:
        """Leave-out patterns with a '/' are read from each library folder: 'Work/raw' in the library folder
        Holidays must become 'Holidays/Work/raw' once Holidays is read from the folder around it. Returns the
        patterns added (to settings.json)."""
        own = [folder_prefix(f.path) for f in self.catalog.folder_rows()] + [folder_prefix(folder)]
        paths = [p.strip("/") for p in self.settings.exclude if (p.startswith("/") or "/" in p.strip("/"))
                 and not p.casefold().startswith(tuple(own))]   # (a library folder's own path: it stays right)
        added = []
        for place in inner:
            prefix = Path(place).relative_to(folder).as_posix()
            added += [f"{prefix}/{p}" for p in paths if f"{prefix}/{p}" not in self.settings.exclude + added
                      and len(prefix) + len(p) < MAX_EXCLUDE_PATTERN]
        self._add_left_out(added)
        return added

    def _add_left_out(self, patterns: list[str]) -> None:
        if patterns:
            self._edit_left_out(lambda exclude: exclude + [p for p in patterns if p not in exclude])

    def take_back_left_out(self, patterns: Sequence[str]) -> None:
        """Undo ``leave_out``: these patterns leave settings.json; the next indexing brings their files back."""
        self._edit_left_out(lambda exclude: [p for p in exclude if p not in patterns])

    def _edit_left_out(self, edit: Callable[[list[str]], list[str]]) -> None:
        """Change the leave-out patterns of settings.json, read afresh so that command-line overrides are not saved,
        and of the settings in use."""
        saved = Settings.load(self.path / "settings.json")
        saved.exclude = edit(list(saved.exclude))
        saved.save(self.path / "settings.json")
        self.settings.exclude = edit(list(self.settings.exclude))

    def relocate_folder(self, path: str | Path, new_path: str | Path) -> FolderInfo:
        """The library folder ``path`` was moved or renamed, or its drive is mounted at another place: it is
        ``new_path`` now. Its videos keep their moments (no decoding again); the next index finds what changed."""
        old = str(Path(path).expanduser().resolve())
        known = [f.path for f in self.catalog.folder_rows()]
        if old not in known:
            raise LibraryError(_not_a_library_folder(old, known))
        folder = self._readable_folder(new_path)
        for existing in known:
            if existing == old:
                continue
            if Path(existing) == folder:
                raise LibraryError(f"{folder} is already a folder of this library; remove {old} from the library "
                                   "if its videos are there now (its moments are found again when indexing)")
            if _inside(folder, Path(existing)) or _inside(Path(existing), folder):
                raise LibraryError(f"{folder} is already in the library, with the folder {existing}; choose the "
                                   f"folder that took the place of {old}, or remove {old} and keep {existing}")
        # Files not found at the new place leave the library at the next index: a wrong folder picked would lose
        # their moments, so it must hold most of them (by their names inside it and their sizes).
        files = self.catalog.files(folder=old)
        found = sum(_has_size(folder / os.path.relpath(f.path, old), f.size) for f in files)
        if found * 2 < len(files):
            raise LibraryError(f"{folder} holds {found} of the {len(files)} videos of {old} (by their names and sizes "
                               f"inside it); choose the folder that holds them, or remove {old} from the library and "
                               f"add {folder}")
        with self._writing():
            self.catalog.relocate_folder(old, str(folder))
        if any(_relocated_pattern(p, old, folder) != p for p in self.settings.exclude):
            self._edit_left_out(lambda exclude: [_relocated_pattern(p, old, folder) for p in exclude])
        self.events.emit("folders_changed")
        return self._folder_info(str(folder))

    def remove_folder(self, path: str | Path) -> None:
        [folder] = self._library_folders([path])
        with self._writing():
            self.catalog.remove_folder(folder)
            self._sync_vectors()
        self.events.emit("folders_changed")

    def folders(self) -> list[FolderInfo]:
        indexing = self._index_lock.held_by_us
        out = []
        for f in self.catalog.folders():
            state = f.state
            if not os.path.isdir(f.path):
                state = "missing"
            elif indexing and f.pending:
                state = "indexing"
            out.append(FolderInfo(f.path, f.indexed, f.pending, f.failed, f.skipped, state))
        return out

    def _folder_info(self, path: str) -> FolderInfo:
        return next(f for f in self.folders() if f.path == path)

    # -- indexing ----------------------------------------------------------------
    def reachable_folders(self) -> list[str]:
        """The library's folders that can be reached now, sorted: what a watcher watches. Read afresh, so
        folders another ClipSeek added or removed, and drives plugged in or out, count."""
        return sorted(f.path for f in self.catalog.folder_rows() if os.path.isdir(f.path))

    def folder_watcher(self, folders: list[str] | None = None) -> FolderWatcher:
        """A started watcher (see ``FolderWatcher``) of ``folders``, by default ``reachable_folders()``; stop it
        when done. Adding or removing a folder does not change it: make a new one."""
        if folders is None:
            folders = self.reachable_folders()
        return FolderWatcher(folders, ignore=self.path, notice=self.notice, exclude=self.settings.exclude).start()

    def index(self, progress: Callable[[Progress], None] | None = None,
              control: IndexControl | None = None, ray_address: str | None = None,
              folders: Sequence[str | Path] | None = None) -> Progress:
        """Scan every folder (or only the library folders ``folders``) and index what is new or changed. Blocks
        until done or cancelled.

        With ``ray_address`` (host:port of a Ray cluster's head) the files are decoded and encoded by
        workers on the cluster's nodes; results are written here, to the library's catalog and vectors.
        """
        only = None if folders is None else self._library_folders(folders)
        with self._writing():
            summary = reconcile(self.catalog, exclude=self.settings.exclude, folders=only)
            for folder in summary.missing_folders:
                self.notice(f"{folder} cannot be reached (unplugged drive? moved or renamed?); its files are kept "
                            "as they were until it is back, or located at its new place")
            for folder, why in summary.unreadable_folders:
                self.notice(f"{printable(folder)} cannot be read ({why}); its files are kept as they were")
            self._sync_vectors()
            self.events.emit("folders_changed")
            self.events.emit("index_started")
            indexer = Indexer(self.catalog, self.vectors, self.bundle_dir, self.bundle_info.fingerprint,
                              self.settings, self.path / "thumbs", emit=self._emit, ray_address=ray_address,
                              exclusive=self._index_lock.held_by_us)
            try:
                final = indexer.run(progress=progress, control=control,
                                    failed_in_scan=summary.failed, skipped_in_scan=summary.skipped,
                                    removed_in_scan=summary.deleted)
            finally:
                self.events.emit("folders_changed")
            if final.state != "cancelled":      # a window closing (or Ctrl+C) waits for no copy
                self._keep_catalog_copy()
        self.events.emit("index_finished", final)
        return final

    def _library_folders(self, paths: Sequence[str | Path]) -> list[str]:
        """``paths`` as the library stores its folders, or a LibraryError naming one that is not one of them."""
        known = [f.path for f in self.catalog.folder_rows()]
        out = []
        for path in paths:
            folder = str(Path(path).expanduser().resolve())
            if folder not in known:
                raise LibraryError(_not_a_library_folder(folder, known))
            out.append(folder)
        return out

    def damaged_catalog_copy(self) -> str | None:
        """Where reading the catalog found it damaged since the library opened and a copy of it was kept: that copy
        (as ``restore_catalog_copy`` would put it back, once the library is closed); else None."""
        damage = self.catalog.damage_seen()
        return damage.copy if damage is not None else None

    def _keep_catalog_copy(self) -> None:
        """At most daily, a checked copy of catalog.sqlite: the embeddings of hours of video, which a damaged
        file would otherwise take with it (see catalog/copies.py)."""
        if self.catalog.path is None or not self.settings.keep_catalog_copy:   # PostgreSQL keeps its own backups
            return
        try:
            keep_copy(self.catalog.path)
        except (OSError, sqlite3.Error, ClipSeekError) as exc:     # a full disk costs the copy, not the indexing
            log.warning("no copy of %s was kept (%s)", self.catalog.path, exc)

    def retry(self, file_ids: list[int] | None = None) -> int:
        """Put failed or skipped files back in the queue; returns how many."""
        if file_ids is None:
            file_ids = [p.file_id for p in self.problems()]
        self.catalog.reset_to_pending(file_ids)
        self.events.emit("folders_changed")
        return len(file_ids)

    def leave_out(self, paths: Sequence[str]) -> list[str]:
        """Leave these files (or folders) of the library out of it from now on, as the ``exclude`` setting does:
        a file that fails however often it is retried stops being a problem. Adds one pattern each, its library
        folder's path and the path from there (it names that file alone, not the same path in another library
        folder), to settings.json, and returns them; the next indexing takes the files' moments and problems out
        of the library."""
        folders = [Path(f.path) for f in self.catalog.folders()]
        added: list[str] = []
        for path in paths:
            found = _library_folder_of(path, folders)
            if found is None and {Path(os.path.abspath(path)), Path(path).resolve()} & set(folders):
                raise LibraryError(f"{path} is a folder of this library; remove it from the library instead")
            if found is None:
                raise LibraryError(f"{path} is not inside a folder of this library")
            # A mistyped path would add a pattern that leaves nothing out; a file the catalog knows may lie
            # on a drive that is not plugged in.
            known = (self.catalog.file_by_path(p) for p in (found[0], Path(path).resolve()))
            if not os.path.lexists(found[0]) and not any(row is not None for row in known):
                raise LibraryError(f"{path} does not exist; nothing was left out")
            # Escaped: a name with '[', '*' or '?' (take [1].mp4) is itself, not a pattern for others.
            pattern = found[1].as_posix().rstrip("/") + "/" + glob.escape(found[0].relative_to(found[1]).as_posix())
            if len(pattern) > MAX_EXCLUDE_PATTERN:
                raise LibraryError(f"the path of {path} is too long to leave out "
                                   f"(at most {MAX_EXCLUDE_PATTERN} characters)")
            if pattern not in self.settings.exclude + added:
                added.append(pattern)
        self._add_left_out(added)
        return added

    def problems(self) -> list[Problem]:
        out = []
        for status in (FileStatus.FAILED, FileStatus.SKIPPED):
            for f in self.catalog.files(status=status.value):
                out.append(Problem(f.path, status, f.error or "", f.id))
        return out

    @contextmanager
    def _writing(self):
        if not self._own_index:
            # The vectors are not a file of this folder: indexers here and elsewhere split the files
            # through claims in the catalog (indexer/claims.py), so no folder lock is needed.
            yield
            return
        if self._index_lock.held_by_us:
            raise LibraryError(f"{self.path} is being indexed; wait for indexing to finish, or cancel it, and "
                               "try again")
        if not self._index_lock.acquire():
            raise LibraryError(f"another ClipSeek is indexing {self.path}; wait for it to finish or close it")
        try:
            yield
        finally:
            self._index_lock.release()

    def _sync_vectors(self) -> None:
        self.vectors.apply_changes(self.catalog)
        try:
            self.vectors.save()
        except OSError as exc:
            # The catalog holds everything; a cache that cannot be saved is rebuilt from it next time.
            log.info("could not save the vector index: %s", exc)
            self.notice(unsaved_notice(exc, getattr(self.vectors, "dir", None)))

    # -- search --------------------------------------------------------------------
    def search(self, query: str, k: int = 10, folders=None, min_score: float | None = None,
               sort: str = "relevance", date_range=None, duration_range=None, rerank: bool = True,
               per_video: bool = False) -> list[Moment]:
        """The ``k`` best moments for ``query``; with ``per_video``, the best moment of each of the ``k`` best
        videos (the same for ``search_image`` and ``similar``)."""
        filters = self._filters(folders, date_range, duration_range, min_score)
        self._catch_up()
        moments = self.searcher.search_text(query, k, filters, rerank=rerank, per_video=per_video)
        return _sorted(self._explained(moments, filters), sort)

    def search_image(self, image, k: int = 10, folders=None, min_score: float | None = None,
                     sort: str = "relevance", date_range=None, duration_range=None,
                     per_video: bool = False) -> list[Moment]:
        rgb = image if isinstance(image, np.ndarray) else _read_image(image)
        filters = self._filters(folders, date_range, duration_range, min_score)
        self._catch_up()
        found = self.searcher.search_rgb(rgb, k, filters, per_video=per_video)
        return _sorted(self._explained(found, filters), sort)

    def search_video(self, video, k: int = 10, folders=None, min_score: float | None = None,
                     sort: str = "relevance", date_range=None, duration_range=None,
                     per_video: bool = False) -> list[Moment]:
        """A short video as the query (a clip someone sent: where in the library is it from?), in the library or
        not: its frames, spread evenly over it, are encoded as a moment is."""
        frames = _read_video(video, self.model.info, self.settings.sample_fps)
        filters = self._filters(folders, date_range, duration_range, min_score)
        self._catch_up()
        found = self.searcher.search_frames(frames, k, filters, per_video=per_video)
        return _sorted(self._explained(found, filters), sort)

    def similar(self, moments: Moment | Sequence[Moment], k: int = 10, folders=None,
                sort: str = "relevance", per_video: bool = False, date_range=None,
                duration_range=None) -> list[Moment]:
        """Moments like ``moments`` (one, or several taken together; their own segments left out)."""
        ids: dict[int, None] = {}       # in order, once each
        for moment in [moments] if isinstance(moments, Moment) else moments:
            found = list(moment.segment_ids) or self._segments_at(moment)
            if not found:
                raise QueryError(self._not_found(moment))
            ids.update(dict.fromkeys(found))
        if not ids:
            raise QueryError("no moment was given to find moments like")
        emb = self.catalog.segment_embeddings(list(ids))
        vector = emb.vectors.mean(axis=0)
        vector /= max(float(np.linalg.norm(vector)), 1e-6)
        filters = self._filters(folders, date_range, duration_range)
        found = self.searcher.search_vector(vector, k, filters, exclude=set(ids), per_video=per_video)
        return _sorted(self._explained(found, filters), sort)

    def _explained(self, moments: list[Moment], filters: SearchFilters) -> list[Moment]:
        """``moments``; none, in one place inside a library folder that holds no moments at all, is said with the
        reason (a video that could not be indexed, was left out or waits; a path that is not there) rather than
        answered as an empty list, which would read as "nothing matched"."""
        if moments or len(filters.under) != 1:
            return moments
        place = filters.under[0]
        if self.catalog.segment_ids(under=[place], limit=1).size:
            return moments      # it has moments; none matched, or passed the other filters
        row = self.catalog.file_by_path(place) if storable(place) else None
        shown = printable(place)
        if row is not None:
            reason = (row.error or "").removeprefix(f"{row.path}: ")
            if row.status == "failed":
                raise QueryError(f"{shown} could not be indexed, so it has no moments: {reason}")
            if row.status == "skipped":
                raise QueryError(f"{shown} was left out when indexing, so it has no moments: {reason}")
            if row.status == "pending":
                raise QueryError(f"{shown} is waiting to be indexed, so it has no moments yet")
        elif os.path.isfile(place) and is_video_name(place):
            raise QueryError(f"{shown} is not indexed yet, so it has no moments yet")
        elif not os.path.exists(place):
            raise QueryError(f"there is no file or folder {shown}")
        return moments

    def _filters(self, folders=None, date_range=None, duration_range=None, min_score=None) -> SearchFilters:
        """Search filters in this library's folders, folders inside them or single videos in them; any other
        path would silently match nothing, so it is refused."""
        if isinstance(folders, (str, Path)):
            folders = [folders]
        library_folders, under = [], []
        if folders:
            known = [f.path for f in self.catalog.folder_rows()]
            for folder in [str(Path(f).expanduser().resolve()) for f in folders]:
                holder = next((k for k in known if _inside(Path(folder), Path(k))), None)
                if holder is None:
                    raise QueryError(_not_in_the_library(folder, known))
                library_folders.append(holder)
                under.append(folder)
        whole = set(under) <= set(library_folders)
        return SearchFilters.make(sorted(set(library_folders)), date_range, duration_range, min_score,
                                  under=None if whole else under)

    def _catch_up(self) -> None:
        """Apply what other processes wrote to the catalog since (another indexer, another machine).

        At most once a second: between searches typed letter by letter, nothing is worth a query.
        """
        if self._index_lock.held_by_us:
            return   # our own indexer keeps the vectors current
        now = time.monotonic()
        if now - self._vectors_checked >= CATCH_UP_SECONDS:
            self._vectors_checked = now
            self.vectors.apply_changes(self.catalog)

    def _segments_at(self, moment: Moment) -> list[int]:
        return [s.id for s in self._segments_of(moment.path) if s.end > moment.start and s.start < moment.end]

    def _segments_of(self, path: str) -> list:
        if not storable(path):
            return []      # the catalog holds no such name
        row = self.catalog.file_by_path(os.path.abspath(path))
        return [] if row is None else self.catalog.segments_of_file(row.id)

    def _not_found(self, moment: Moment) -> str:
        """Why no indexed moment matches ``moment``: its file is not indexed, or it is and the time is outside it."""
        name = printable(moment.path)
        segments = self._segments_of(moment.path)
        if not segments:
            return f"{name} is not in this library (or not indexed yet)"
        first, last = min(s.start for s in segments), max(s.end for s in segments)
        return f"{name} has no moment at {moment.start:.1f} s; its moments run from {first:.1f} to {last:.1f} s"

    # -- media helpers for the window -------------------------------------------------
    def preview_frames(self, moment: Moment, count: int = 8, width: int = 240,
                       on_still: Callable[[bytes], None] | None = None) -> list[bytes]:
        """``count`` JPEG stills across ``moment``, in order; ``on_still`` gets each as soon as it is made."""
        from engine.media.preview import preview_jpegs

        return preview_jpegs(moment.path, moment.start, moment.end, count, width, on_still)

    def playable_copy(self, moment: Moment) -> PlayableCopy:
        """``moment`` made again as H.264 in MP4, for a player that cannot show its file (AV1 without a hardware
        decoder, an MPEG-TS it cannot seek in); kept in the cache folder, so a second ask finds it."""
        return self._playable.copy_of(moment)

    def export_moment(self, moment: Moment, out_path: str | Path) -> Path:
        from engine.media.export import export_range

        return export_range(moment.path, moment.start, moment.end, Path(out_path))

    # -- status and models ---------------------------------------------------------------
    def status(self) -> LibraryStatus:
        stats = self.catalog.stats()
        providers: tuple[str, ...] = tuple(self._model.providers) if self._model is not None else ()
        return LibraryStatus(library=str(self.path), model=self.bundle_info.name,
                             fingerprint=self.bundle_info.fingerprint, providers=providers,
                             folders=tuple(self.folders()), files=dict(stats.files), segments=stats.segments,
                             hours_indexed=stats.seconds_indexed / 3600.0, device=self.settings.device,
                             gpu_found=gpu_likely(), index_workers=self.settings.resolved_workers(),
                             decoding=self.decoding, model_trained_only_on=self.bundle_info.trained_only_on,
                             catalog_on_postgres=self.catalog.path is None,
                             catalog_copy=self._catalog_copy_kept(), keeps_catalog_copy=self.settings.keep_catalog_copy,
                             demo=self.is_demo)

    def _catalog_copy_kept(self) -> str | None:
        copy = latest_copy(self.catalog.path) if self.catalog.path is not None else None
        return copy.describe() if copy is not None else None

    def installed_models(self) -> list[ModelEntry]:
        return self.registry.entries(active=self.bundle_info.fingerprint)

    def import_model(self, source: str | Path) -> ModelEntry:
        return self.registry.import_bundle(Path(source))

    def install_model(self, spec: str, progress: Callable[[str], None] | None = None) -> ModelEntry:
        return self.registry.install(spec, progress=progress)

    def set_model(self, name_or_path: str | Path) -> int:
        """Switch models: drops every embedding of the old model; files go back to pending.

        Returns the number of files that will be re-indexed. Callers ask the user first.
        """
        bundle_dir = self.registry.resolve(name_or_path, None)
        info = check_bundle(bundle_dir)   # every file hashed: a damaged copy is refused before anything changes
        stale = [f for f in self.catalog.fingerprints_in_use() if f != info.fingerprint]
        if not stale and self.catalog.get_meta(ACTIVE_MODEL_KEY) == info.fingerprint:
            return 0
        with self._writing():
            with self._open_lock:
                if self._vectors is not None:
                    self._vectors.close()
                self._vectors = None
                self._searcher = None
                self._model = None
            count = sum(f.indexed for f in self.catalog.folders())
            for fingerprint in stale:
                self.catalog.purge_fingerprint(fingerprint)
            self.bundle_dir, self.bundle_info = bundle_dir, info
            self._record_active_model()
            self._sync_vectors()
        self.events.emit("folders_changed")
        return count

    def update_settings(self, settings: Settings) -> None:
        settings.validate().save(self.path / "settings.json")
        turned_off_copies = self.settings.keep_catalog_copy and not settings.keep_catalog_copy
        self.settings = settings
        if turned_off_copies and self.catalog.path is not None:
            drop_copy(self.catalog.path)           # the room it took is what turning it off is for
        with self._open_lock:
            self._searcher = None


def _sorted(moments: list[Moment], sort: str) -> list[Moment]:
    if sort == "relevance":
        return moments
    if sort == "date":
        return sorted(moments, key=lambda m: (-m.file_date, m.path, m.start))
    raise QueryError(f"sort must be 'relevance' or 'date', not {sort!r}")


def _not_a_library_folder(folder: str, known: list[str]) -> str:
    return f"{printable(folder)} is not a folder of this library; its folders are: " + (", ".join(known) or "none yet")


def _not_in_the_library(folder: str, known: list[str]) -> str:
    return (f"{printable(folder)} is not in this library; search in its folders, or in folders and videos "
            f"inside them: {', '.join(known) or 'none yet'}")


def _listed(folders: list[str]) -> str:
    """'the library folder A', 'the library folders A and B', 'the library folders A, B and C'."""
    if len(folders) == 1:
        return f"the library folder {folders[0]}"
    return f"the library folders {', '.join(folders[:-1])} and {folders[-1]}"


def _has_size(path: Path, size: int) -> bool:
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


def _relocated_pattern(pattern: str, old: str, new: Path) -> str:
    """A leave-out pattern that names a path of the library folder ``old`` by its own path names it at ``new``."""
    prefix = folder_prefix(old)
    if pattern[:len(prefix)].casefold() != prefix:
        return pattern
    return new.as_posix().rstrip("/") + "/" + pattern[len(prefix):]


def _in_use_lock(path: Path) -> FileLock | None:
    """The shared lock a library holds while it is open (taken here); putting a catalog copy back needs it alone.
    None where the folder cannot be written: opening the catalog then says why, as a person can act on it."""
    lock = FileLock(path / IN_USE_LOCK, shared=True)
    try:
        lock.acquire(timeout=None)     # waits only while a copy is being put back
    except OSError:
        return None
    return lock


def _library_folder_of(path: str, folders: list[Path]) -> tuple[Path, Path] | None:
    """(the path, the innermost library folder holding it), or None. The path as named is tried first: a file's
    path in the library may lead through a link to a folder, which resolving it would leave."""
    for place in (Path(os.path.abspath(path)), Path(path).resolve()):
        around = [f for f in folders if _inside(place, f) and place != f]
        if around:
            return place, max(around, key=lambda f: len(f.parts))
    return None


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def _read_video(path, info, fps: float) -> np.ndarray:
    """The frames of a video query, made as the indexer makes a moment's. Imported here: the `clipseek` process
    leaves decoding to its workers, and imports none of it to index."""
    from engine.indexer.embed_file import THUMB_MIN_SHORT_SIDE
    from engine.media.query_clip import query_frames

    p = Path(path)
    if not p.is_file():
        raise QueryError(f"{printable(str(p))} is not a video file that can be read")
    try:
        return query_frames(p, info.frames_per_clip, max(info.image_size, THUMB_MIN_SHORT_SIDE), fps)
    except MediaError as exc:
        raise QueryError(f"{printable(str(p))} cannot be used as the query: "
                         f"{str(exc).removeprefix(f'{p}: ')}") from exc


def _read_image(path) -> np.ndarray:
    import cv2

    p = Path(path)
    if not p.is_file():
        raise QueryError(f"{p} is not an image file that can be read")
    data = np.fromfile(str(p), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise QueryError(f"{p} is not an image ClipSeek can read (use JPEG, PNG, BMP or WebP)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
