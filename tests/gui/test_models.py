"""The item models behind the views: pure engine data in, Qt roles out."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_app.models import FoldersModel, ProblemsModel, ResultsModel
from desktop_app.models.roles import CountsRole, ItemRole, ScoreRole, SubtitleRole
from engine.api.types import FileStatus, FolderInfo, Moment, Problem

pytestmark = pytest.mark.gui


def moment(name="beach.mp4", start=12.0, end=20.5, score=0.31, thumbnail=None):
    return Moment(path=f"/videos/{name}", start=start, end=end, score=score, thumbnail=thumbnail)


def test_results_model_passes_modeltester_and_shows_name_range_score(qtmodeltester, tmp_path):
    from PySide6.QtGui import QImage

    thumb = tmp_path / "t.jpg"
    image = QImage(32, 18, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    assert image.save(str(thumb))
    model = ResultsModel()
    model.set_results("beach", [moment(thumbnail=str(thumb)), moment("dog.mov", 65, 70, 0.2)])
    qtmodeltester.check(model, force_py=True)
    index = model.index(0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "beach.mp4"
    assert index.data(SubtitleRole) == "0:12 – 0:21"
    assert index.data(ScoreRole) == pytest.approx(0.31)
    assert index.data(Qt.ItemDataRole.DecorationRole).width() == 32
    assert model.index(1).data(Qt.ItemDataRole.DecorationRole) is None   # no thumbnail
    assert model.index(1).data(SubtitleRole) == "1:05 – 1:10"
    assert model.index(1).data(ItemRole).path == "/videos/dog.mov"
    assert model.index(1).data(Qt.ItemDataRole.AccessibleTextRole) == "dog.mov, 1:05 – 1:10, score 0.200"


def test_results_model_reset_signals_and_clear(qtbot):
    model = ResultsModel()
    with qtbot.waitSignal(model.modelReset):
        model.set_results("q", [moment()])
    assert model.rowCount() == 1 and model.query == "q"
    model.clear()
    assert model.rowCount() == 0 and model.query == ""


def test_results_model_grows_by_inserting_rows_only_when_the_longer_answer_begins_with_its_rows(qtbot,
                                                                                            qtmodeltester):
    model = ResultsModel()
    first = [moment("a.mp4", 0, 2, 0.9), moment("b.mp4", 4, 6, 0.8)]
    model.set_results("q", first)
    qtmodeltester.check(model, force_py=True)
    longer = first + [moment("c.mp4", 1, 3, 0.5), moment("a.mp4", 8, 9, 0.4)]
    with qtbot.waitSignal(model.rowsInserted) as inserted, qtbot.assertNotEmitted(model.modelReset):
        assert model.grow(longer)
    assert inserted.args[1:] == [2, 3] and model.moments() == longer
    assert model.grow(longer)                                   # nothing new: nothing changes
    reordered = [longer[1], longer[0], *longer[2:], moment("d.mp4", 0, 1, 0.1)]
    with qtbot.assertNotEmitted(model.rowsInserted), qtbot.assertNotEmitted(model.modelReset):
        assert not model.grow(reordered)
        assert not model.grow(first)                            # shorter
    assert model.moments() == longer


def test_folders_model_counts_state_and_in_place_update(qtmodeltester, qtbot):
    model = FoldersModel()
    model.set_folders([FolderInfo("/home/a/Holidays", 5, 2, 1, 0, "indexing"),
                       FolderInfo("/mnt/usb/Clips", 0, 0, 0, 0, "missing")])
    qtmodeltester.check(model, force_py=True)
    first = model.index(0)
    assert first.data(Qt.ItemDataRole.DisplayRole) == "Holidays"
    assert first.data(SubtitleRole) == "Indexing…"
    assert first.data(CountsRole) == {"indexed": 5, "pending": 2, "failed": 1, "skipped": 0}
    assert model.index(1).data(SubtitleRole) == "Folder not found"
    assert model.index(1).data(Qt.ItemDataRole.ToolTipRole).endswith("right-click and choose Locate folder…")
    assert first.data(Qt.ItemDataRole.AccessibleTextRole) == \
        "/home/a/Holidays, Indexing…, 5 indexed, 2 pending, 1 failed, 0 skipped"
    assert first.data(Qt.ItemDataRole.ToolTipRole) == "/home/a/Holidays\n5 indexed · 2 pending · 1 failed · 0 skipped"
    # Same folders, new counts: rows change in place (no reset, so selection survives).
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.dataChanged):
        model.set_folders([FolderInfo("/home/a/Holidays", 7, 0, 1, 0, "ok"),
                           FolderInfo("/mnt/usb/Clips", 0, 0, 0, 0, "missing")])
    assert model.index(0).data(SubtitleRole) == "Up to date"
    assert model.index(0).data(CountsRole)["indexed"] == 7
    with qtbot.waitSignal(model.modelReset):
        model.set_folders([FolderInfo("/x", 0, 3, 0, 0, "ok")])
    assert model.index(0).data(SubtitleRole) == "Waiting to index"


def test_problems_model_columns(qtmodeltester):
    model = ProblemsModel()
    model.set_problems([Problem("/v/broken.mp4", FileStatus.FAILED, "/v/broken.mp4: no video stream; re-encode it", 4),
                        Problem("/v/photo.mp4", FileStatus.SKIPPED, "not a video", 5)])
    qtmodeltester.check(model, force_py=True)
    assert model.columnCount() == 4
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Reason"
    row = [model.index(0, c).data() for c in range(4)]
    assert row == ["broken.mp4", "Failed", "No video stream; re-encode it", "/v"]   # path prefix dropped
    assert model.index(1, 1).data() == "Skipped"
    assert model.index(1, 0).data(ItemRole).file_id == 5


def test_results_drag_out_as_files_text_and_moments(qtbot):
    from PySide6.QtCore import QMimeData

    from desktop_app.models.moment_drag import MOMENTS_MIME, dropped_moments

    model = ResultsModel()
    full = Moment("/videos/beach.mp4", 65.0, 70.0, 0.4, "/cache/t.jpg", file_id=7, segment_ids=(3, 4),
                  folder="/videos", file_date=1.7e9, duration=300.0)
    model.set_results("q", [moment(), moment("dog.mov", 1, 2), full])
    assert model.flags(model.index(0)) & Qt.ItemFlag.ItemIsDragEnabled
    data = model.mimeData([model.index(2), model.index(0), model.index(2)])      # rows in the grid's order, once
    assert [url.toLocalFile() for url in data.urls()] == ["/videos/beach.mp4"]    # one file, for two moments
    assert data.text().splitlines() == ["/videos/beach.mp4 @ 0:12 – 0:21", "/videos/beach.mp4 @ 1:05 – 1:10"]
    assert dropped_moments(data) == [moment(), full]          # every field, segment ids as a tuple again
    assert set(model.mimeTypes()) == {"text/uri-list", "text/plain", MOMENTS_MIME}

    foreign = QMimeData()
    foreign.setText("/videos/beach.mp4")
    assert dropped_moments(foreign) == []
    foreign.setData(MOMENTS_MIME, b"{not json")
    assert dropped_moments(foreign) == []
    foreign.setData(MOMENTS_MIME, b'[{"path": "/v.mp4"}]')      # missing fields: not a moment
    assert dropped_moments(foreign) == []
