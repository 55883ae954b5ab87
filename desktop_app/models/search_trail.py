"""The searches of this session, for Back and Forward, as a browser keeps the pages of a tab."""
from __future__ import annotations

from dataclasses import dataclass, replace

from desktop_app.models.folder_paths import relocated
from desktop_app.models.search_options import SearchRequest

TRAIL_LENGTH = 100   # searches kept behind the one shown


@dataclass(frozen=True)
class ResultsPlace:
    """Where the results of a search were left: how many were loaded, how far they were scrolled, which card was
    current and which were selected (as ``moment_key``s)."""
    rows: int
    scroll: int
    current: tuple | None = None
    selected: frozenset = frozenset()


@dataclass
class _Step:
    request: SearchRequest
    committed: bool
    place: ResultsPlace | None = None


class SearchTrail:
    """Text, image, video and find-similar searches in the order they were made; ``back()`` and ``forward()`` give
    the search to show again, or None at either end.

    A query refined as it is typed is one step: a text search replaces the text search before it when one of the
    two texts begins with the other (more letters typed, or some taken back) and the earlier one was not committed
    (Enter, or a recent search picked). Going back and then searching anew drops the steps ahead, as a browser
    does. After ``leave()`` (the search field emptied) nothing of the trail is shown, and Back shows its last step
    again. ``note_place`` keeps where the results shown were left, and ``place()`` gives it back when Back or
    Forward returns to them."""

    def __init__(self, length: int = TRAIL_LENGTH) -> None:
        self._length = length
        self._steps: list[_Step] = []
        self._at = -1
        self._away = False

    def visit(self, request: SearchRequest, committed: bool = False) -> None:
        """``request`` is shown now (not a page more of the one shown, nor the same search with other filters)."""
        del self._steps[self._at + 1:]
        if self._steps and not self._away and _refines(self._steps[-1], request):
            self._steps[-1] = _Step(request, committed)
        else:
            self._steps.append(_Step(request, committed))
            del self._steps[:max(0, len(self._steps) - self._length - 1)]
        self._at = len(self._steps) - 1
        self._away = False

    def note_place(self, place: ResultsPlace) -> None:
        """The results of the search shown were left at ``place``."""
        if 0 <= self._at and not self._away:
            self._steps[self._at].place = place

    def place(self) -> ResultsPlace | None:
        """Where the results of the search shown were left, if they were shown before."""
        return self._steps[self._at].place if 0 <= self._at and not self._away else None

    def shown(self) -> SearchRequest | None:
        """The search shown now, None when nothing of the trail is."""
        return self._steps[self._at].request if 0 <= self._at and not self._away else None

    def relocate(self, old: str, new: str) -> None:
        """The library folder ``old`` is at ``new`` now: the moments, files and places of every step that lie in it
        are named by their new paths."""
        def moved(path):
            return path if path is None else type(path)(relocated(str(path), old, new))

        def moved_key(key: tuple | None) -> tuple | None:
            return key if key is None else (moved(key[0]), *key[1:])

        for step in self._steps:
            request = step.request
            step.request = replace(request, image=moved(request.image), video=moved(request.video),
                                   like=tuple(replace(m, path=moved(m.path), folder=moved(m.folder))
                                              for m in request.like))
            if step.place is not None:
                step.place = replace(step.place, current=moved_key(step.place.current),
                                     selected=frozenset(moved_key(k) for k in step.place.selected))

    def leave(self) -> None:
        """Nothing of the trail is shown (the search field was emptied)."""
        self._away = bool(self._steps)

    def can_go_back(self) -> bool:
        return self._at > 0 or (self._away and self._at >= 0)

    def can_go_forward(self) -> bool:
        return 0 <= self._at < len(self._steps) - 1

    def back(self) -> SearchRequest | None:
        if not self.can_go_back():
            return None
        if self._away:
            self._away = False
        else:
            self._at -= 1
        return self._steps[self._at].request

    def forward(self) -> SearchRequest | None:
        if not self.can_go_forward():
            return None
        self._away = False
        self._at += 1
        return self._steps[self._at].request


def _refines(step: _Step, request: SearchRequest) -> bool:
    earlier = step.request
    if step.committed or earlier.kind != "text" or request.kind != "text":
        return False
    a, b = earlier.text.casefold(), request.text.casefold()
    return a.startswith(b) or b.startswith(a)
