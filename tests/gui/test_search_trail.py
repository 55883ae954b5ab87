"""Back and Forward through the searches of a session (desktop_app.models.search_trail): pure Python."""
from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.models.search_options import SearchRequest
from desktop_app.models.search_trail import ResultsPlace, SearchTrail
from engine.api.types import Moment

pytestmark = pytest.mark.gui


def text(query: str, serial: int = 0) -> SearchRequest:
    return SearchRequest(serial, text=query)


def walk(trail: SearchTrail, step) -> list[str]:
    """Every query ``step`` gives until it gives None."""
    out = []
    while (request := step()) is not None:
        out.append(request.text or request.kind)
    return out


def test_back_and_forward_go_through_the_searches_in_order():
    trail = SearchTrail()
    assert not trail.can_go_back() and not trail.can_go_forward() and trail.back() is None
    trail.visit(text("a red car"), committed=True)
    trail.visit(SearchRequest(1, image=Path("/tmp/beach.jpg")))
    trail.visit(SearchRequest(2, like=(Moment(path="/v/a.mp4", start=0, end=4, score=1.0, thumbnail=None),)))
    trail.visit(SearchRequest(3, video=Path("/tmp/clip.mp4")))
    assert trail.can_go_back() and not trail.can_go_forward()
    assert walk(trail, trail.back) == ["like", "image", "a red car"]
    assert walk(trail, trail.forward) == ["image", "like", "video"]


def test_a_query_refined_as_it_is_typed_is_one_step():
    trail = SearchTrail()
    trail.visit(text("a red"))
    trail.visit(text("a red car"))                 # typed on
    trail.visit(text("a red ca"))                  # a letter taken back
    trail.visit(text("A red cat"), committed=True)
    trail.visit(text("a red cat turning"))         # the one before was committed: a step of its own
    trail.visit(text("a dog"))                     # another query
    trail.visit(text("a dog swimming"))
    assert walk(trail, trail.back) == ["a red cat turning", "A red cat"]


def test_searching_after_going_back_drops_the_steps_ahead():
    trail = SearchTrail()
    for query in ("one", "two", "three"):
        trail.visit(text(query), committed=True)
    assert trail.back().text == "two" and trail.back().text == "one"
    trail.visit(text("four"), committed=True)
    assert not trail.can_go_forward()
    assert walk(trail, trail.back) == ["one"]


def test_after_the_field_is_emptied_back_shows_the_last_search_again():
    trail = SearchTrail()
    trail.visit(text("one"), committed=True)
    trail.visit(text("two"))
    trail.leave()
    assert trail.can_go_back()
    assert trail.back().text == "two"
    trail.leave()
    trail.visit(text("tw"))                       # typed after emptying: a step, not "two" refined
    assert walk(trail, trail.back) == ["two", "one"]


def test_the_trail_keeps_its_length():
    trail = SearchTrail(length=3)
    for n in range(10):
        trail.visit(text(f"query {n}"), committed=True)
    assert walk(trail, trail.back) == ["query 8", "query 7", "query 6"]


def test_each_step_keeps_where_its_results_were_left():
    trail = SearchTrail()
    trail.visit(text("one"), committed=True)
    assert trail.place() is None                       # not left yet
    trail.note_place(ResultsPlace(rows=120, scroll=900))
    trail.visit(text("two"), committed=True)
    trail.note_place(ResultsPlace(rows=60, scroll=40))
    assert trail.back().text == "one" and trail.place() == ResultsPlace(120, 900)
    assert trail.forward().text == "two" and trail.place() == ResultsPlace(60, 40)
    trail.leave()
    assert trail.place() is None
    trail.note_place(ResultsPlace(1, 1))               # nothing of the trail is shown: nothing noted
    assert trail.back().text == "two" and trail.place() == ResultsPlace(60, 40)
    trail.visit(text("two more"))                      # refined: a new search, no place yet
    assert trail.place() is None


def test_a_relocated_folder_s_moments_files_and_places_take_its_new_paths():
    old, new = "/media/cam", "/mnt/backup/cam"
    inside = Moment(path="/media/cam/day1/a.mp4", start=2, end=6, score=1.0, thumbnail=None, folder=old)
    beside = Moment(path="/media/camera/b.mp4", start=0, end=4, score=1.0, thumbnail=None, folder="/media/camera")
    trail = SearchTrail()
    trail.visit(SearchRequest(1, like=(inside, beside)))
    trail.note_place(ResultsPlace(60, 10, current=("/media/cam/day1/a.mp4", 2.0, 6.0),
                                  selected=frozenset({("/media/cam/day1/a.mp4", 2.0, 6.0),
                                                      ("/media/camera/b.mp4", 0.0, 4.0)})))
    trail.visit(SearchRequest(2, video=Path("/media/cam/day1/a.mp4")))
    trail.visit(SearchRequest(3, image=Path("/home/me/beach.jpg")))
    trail.visit(text("a red car"), committed=True)
    assert trail.shown().text == "a red car"

    trail.relocate(old, new)

    assert trail.back().image == Path("/home/me/beach.jpg")
    assert trail.back().video == Path("/mnt/backup/cam/day1/a.mp4")
    like = trail.back().like
    assert [(m.path, m.folder) for m in like] == [("/mnt/backup/cam/day1/a.mp4", new),
                                                  ("/media/camera/b.mp4", "/media/camera")]   # only inside the folder
    assert trail.place() == ResultsPlace(60, 10, current=("/mnt/backup/cam/day1/a.mp4", 2.0, 6.0),
                                         selected=frozenset({("/mnt/backup/cam/day1/a.mp4", 2.0, 6.0),
                                                             ("/media/camera/b.mp4", 0.0, 4.0)}))
    trail.forward()
    assert trail.shown().video == Path("/mnt/backup/cam/day1/a.mp4")
    trail.leave()
    assert trail.shown() is None
