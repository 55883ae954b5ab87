"""Search requests and recent searches: plain Python, no Qt."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from desktop_app.models.search_options import (DAY, MAX_RESULTS, RESULTS_PAGE, RecentSearches, SearchOptions,
                                               SearchRequest, days_label)
from engine.api.types import Moment, days_span


def test_engine_kwargs_map_presets_to_ranges():
    options = SearchOptions(sort="date", folders=("/v",), date_preset="Past week",
                            duration_preset="1 – 10 min", min_score=0.25, k=30)
    kwargs = SearchRequest(1, text="dog", options=options).engine_kwargs(now=1000 * DAY)
    assert kwargs == {"k": 30, "sort": "date", "folders": ["/v"], "min_score": 0.25,
                      "date_range": (993 * DAY, 1000 * DAY), "duration_range": (60.0, 600.0)}
    assert SearchRequest(2, text="dog").engine_kwargs() == {"k": 60, "sort": "relevance"}


def test_days_chosen_take_the_place_of_the_date_preset_from_the_first_day_to_the_end_of_the_last():
    options = SearchOptions(date_preset="Past week", dates=(date(2024, 6, 1), date(2024, 6, 30)))
    start, end = SearchRequest(1, text="dog", options=options).engine_kwargs(now=1000 * DAY)["date_range"]
    assert start == datetime(2024, 6, 1).timestamp()                     # local midnight
    assert datetime(2024, 6, 30, 23, 59, 59).timestamp() < end < datetime(2024, 7, 1).timestamp()
    assert days_span(date(2024, 6, 1), date(2024, 6, 1))[1] - start < DAY


def test_days_are_labelled_as_briefly_as_they_stay_clear():
    assert days_label(date(2024, 6, 1), date(2024, 6, 1)) == "1 Jun 2024"
    assert days_label(date(2024, 6, 1), date(2024, 6, 30)) == "1–30 Jun 2024"
    assert days_label(date(2024, 6, 20), date(2024, 7, 2)) == "20 Jun – 2 Jul 2024"
    assert days_label(date(2023, 12, 20), date(2024, 1, 5)) == "20 Dec 2023 – 5 Jan 2024"


def test_similar_requests_only_pass_what_similar_accepts():
    like = Moment("/v/a.mp4", 1, 2, 0.5, None)
    request = SearchRequest(3, like=(like,), options=SearchOptions(min_score=0.3, date_preset="Past year"))
    assert request.kind == "like"
    assert request.engine_kwargs() == {"k": 60, "sort": "relevance"}
    videos = request.with_options(6, SearchOptions(per_video=True, min_score=0.3))
    assert videos.engine_kwargs() == {"k": 60, "sort": "relevance", "per_video": True}
    again = request.with_options(4, SearchOptions(sort="date"))
    assert again.like == (like,) and again.serial == 4 and again.options.sort == "date"
    assert SearchRequest(5, image=Path("/i.png")).kind == "image"


def test_recent_searches_dedupe_case_insensitively_and_cap():
    recent = RecentSearches(["b", "a"], limit=3)
    assert recent.items() == ["b", "a"]
    recent.add("A ")
    recent.add("")
    assert recent.items() == ["A", "b"]
    for q in ("c", "d", "e"):
        recent.add(q)
    assert recent.items() == ["e", "d", "c"]
    recent.clear()
    assert recent.items() == []


def test_asking_for_more_is_the_same_search_with_another_page_up_to_the_cap():
    request = SearchRequest(3, text="a dog", options=SearchOptions(sort="date", folders=("/v",)))
    assert request.options.k == RESULTS_PAGE and not request.more
    more = request.for_more(4)
    assert more.serial == 4 and more.more and more.text == "a dog"
    assert more.options == SearchOptions(sort="date", folders=("/v",), k=2 * RESULTS_PAGE)
    while more.options.k < MAX_RESULTS:
        more = more.for_more(5)
    assert more.options.k == MAX_RESULTS and more.for_more(6) is None
    assert not more.with_options(7, SearchOptions()).more       # new filters start from the first page again


def test_only_a_full_page_below_the_cap_may_have_more():
    first = SearchRequest(1, text="a dog")
    assert first.may_have_more(RESULTS_PAGE) and not first.may_have_more(RESULTS_PAGE - 1)
    last = SearchRequest(2, text="a dog", options=SearchOptions(k=MAX_RESULTS))
    assert not last.may_have_more(MAX_RESULTS)


def test_options_asking_for_more_rows_keep_everything_else():
    from desktop_app.models.search_options import MAX_RESULTS, RESULTS_PAGE, SearchOptions

    options = SearchOptions(sort="date", per_video=True)
    assert options.asking_for(10) == options                        # a page is asked for anyway
    assert options.asking_for(150) == SearchOptions(sort="date", per_video=True, k=150)
    assert options.asking_for(10 * MAX_RESULTS).k == MAX_RESULTS and options.k == RESULTS_PAGE
