from __future__ import annotations

import time

from desktop_app.formatting import (calendar_date, clock, duration, export_report, hours, library_summary,
                                   like_subject, moment_details, progress_fraction, progress_summary, results_summary,
                                   sentence, size, time_range)
from engine.api.types import Moment, Progress


def test_a_moments_details_say_when_its_video_was_recorded():
    noon = time.mktime((2019, 6, 1, 12, 0, 0, 0, 0, -1))        # local time, as the window shows it
    assert calendar_date(noon) == "1 Jun 2019" and calendar_date(0) == ""
    moment = Moment("/v/a.mp4", 12.4, 20.5, 0.3123, None, file_date=noon)
    assert moment_details(moment) == "0:12 – 0:21  ·  1 Jun 2019  ·  score 0.312"
    assert moment_details(Moment("/v/a.mp4", 0, 5, 0.5, None)) == "0:00 – 0:05  ·  score 0.500"


def test_clock_and_sizes():
    assert clock(12.4) == "0:12"
    assert time_range(12.4, 20.5) == "0:12 – 0:21" and time_range(0, 5.0) == "0:00 – 0:05"
    assert clock(3725) == "1:02:05"
    assert size(512) == "512 B"
    assert size(350 * 1024 * 1024) == "350.0 MB"
    assert hours(5400) == "1.5 h"
    assert hours(90) == "2 min"
    assert duration(None) == "estimating time left…"
    assert duration(150) == "about 2 min left"


def test_progress_summary_and_fraction():
    p = Progress(files_done=3, files_total=10, seconds_done=900, seconds_total=3600, rate=4.0, eta_seconds=675)
    assert progress_summary(p) == "3 of 10 files · 15 min of 1.0 h of video · 4.0× real time · about 11 min left"
    assert progress_fraction(p) == 0.25
    assert progress_fraction(Progress(1, 4, 0, 0, 0, None)) == 0.25
    assert progress_fraction(Progress(0, 0, 0, 0, 0, None)) == 0.0
    assert progress_summary(Progress(1, 2, 60, 120, 1.0, 3, state="paused")).endswith("paused")
    guessed = Progress(1, 4, 60, 600, 2.0, 270, total_is_estimate=True)
    assert progress_summary(guessed).startswith("1 of 4 files · 1 min of about 10 min of video · ")
    unknown = Progress(0, 4, 0, 0, 0.0, None, total_is_estimate=True)
    assert progress_summary(unknown) == "0 of 4 files · 0 s of video · estimating time left…"


def test_library_summary_counts_videos_in_words():
    assert library_summary(0, 0, "m") == "No videos indexed yet · model m"
    assert library_summary(1, 12, "m") == "1 video · 12 s indexed · model m"
    assert library_summary(30, 780, "clipseek-shapes") == "30 videos · 13 min indexed · model clipseek-shapes"
    assert library_summary(30, 780, "clipseek-shapes", demonstration=True) == \
        "30 videos · 13 min indexed · model clipseek-shapes (a demonstration)"
    one_file = Progress(0, 1, 0, 5, 0.0, None)
    assert progress_summary(one_file) == "0 of 1 file · 0 s of 5 s of video · estimating time left…"
    assert export_report(1, "/out", []) == "Exported 1 moment to /out"


def test_sentence_capitalises_words_but_not_file_names_or_paths():
    assert sentence("the query is empty") == "The query is empty"
    assert sentence("not a video file (contents not recognised)") == "Not a video file (contents not recognised)"
    assert sentence("clip.mp4 is not an image") == "clip.mp4 is not an image"
    assert sentence("/videos/a.mp4: file not found") == "/videos/a.mp4: file not found"
    assert sentence("--image needs a PATH") == "--image needs a PATH"
    assert sentence("") == ""


def test_results_summary_counts_moments_and_says_when_more_may_come():
    assert results_summary(1, "for “a dog”") == "1 moment for “a dog”"
    assert results_summary(60, "for “a dog”", more_below=True) == "60 moments for “a dog” · scroll for more"
    assert results_summary(0, "for the image a.png") == "0 moments for the image a.png"


def test_like_subject_names_one_moment_or_counts_several():
    beach = Moment("/v/beach.mp4", 12, 20.5, 0.1, None)
    assert like_subject([beach]) == "like beach.mp4 0:12 – 0:21"
    assert like_subject([beach, beach]) == "like these 2"


def test_export_report_names_at_most_three_failures():
    assert export_report(2, "/out", []) == "Exported 2 moments to /out"
    failures = [f"clip{i}.mp4 0:00 – 0:05: file not found" for i in range(5)]
    assert export_report(6, "/out", failures) == (
        "Exported 1 of 6 moments to /out; 5 failed: clip0.mp4 0:00 – 0:05: file not found; "
        "clip1.mp4 0:00 – 0:05: file not found; clip2.mp4 0:00 – 0:05: file not found; and 2 more")
