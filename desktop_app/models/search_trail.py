"""The searches of this session, for Back and Forward, as a browser keeps the pages of a tab."""
from __future__ import annotations

from desktop_app.models.search_options import SearchRequest

TRAIL_LENGTH = 100   # searches kept behind the one shown


class SearchTrail:
    """Text, image, video and find-similar searches in the order they were made; ``back()`` and ``forward()`` give
    the search to show again, or None at either end.

    A query refined as it is typed is one step: a text search replaces the text search before it when one of the
    two texts begins with the other (more letters typed, or some taken back) and the earlier one was not committed
    (Enter, or a recent search picked). Going back and then searching anew drops the steps ahead, as a browser
    does. After ``leave()`` (the search field emptied) nothing of the trail is shown, and Back shows its last step
    again."""

    def __init__(self, length: int = TRAIL_LENGTH) -> None:
        self._length = length
        self._steps: list[tuple[SearchRequest, bool]] = []   # (request, committed)
        self._at = -1
        self._away = False

    def visit(self, request: SearchRequest, committed: bool = False) -> None:
        """``request`` is shown now (not a page more of the one shown, nor the same search with other filters)."""
        del self._steps[self._at + 1:]
        if self._steps and not self._away and _refines(self._steps[-1], request):
            self._steps[-1] = (request, committed)
        else:
            self._steps.append((request, committed))
            del self._steps[:max(0, len(self._steps) - self._length - 1)]
        self._at = len(self._steps) - 1
        self._away = False

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
        return self._steps[self._at][0]

    def forward(self) -> SearchRequest | None:
        if not self.can_go_forward():
            return None
        self._away = False
        self._at += 1
        return self._steps[self._at][0]


def _refines(step: tuple[SearchRequest, bool], request: SearchRequest) -> bool:
    earlier, committed = step
    if committed or earlier.kind != "text" or request.kind != "text":
        return False
    a, b = earlier.text.casefold(), request.text.casefold()
    return a.startswith(b) or b.startswith(a)
