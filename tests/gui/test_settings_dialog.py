"""Settings over a real (empty) Library: models, device, sampling, theme."""
from __future__ import annotations

import json

import pytest

from desktop_app import theme
from desktop_app.views.settings_dialog import SettingsDialog, ask_user
from desktop_app.workers import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def library(tmp_path, tiny_bundle):
    from engine.api import Library

    lib = Library.open(tmp_path / "library", model=tiny_bundle)
    yield lib
    lib.close()


def test_models_device_sampling_and_theme(qtbot, themed, library, tiny_bundle):
    runner = TaskRunner()
    dialog = SettingsDialog(library, runner, theme_choice="system")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: "CPU" in dialog.providers_label.text(), timeout=20_000)
    assert dialog.providers_label.text().endswith(
        "video decoded on " + ("the NVIDIA GPU (NVDEC)" if library.decoding == "cuda" else "the CPU"))

    dialog.import_model(str(tiny_bundle))

    def active_rows() -> list[int]:
        return [row for row in range(dialog.model_list.count()) if "[active" in dialog.model_list.item(row).text()]

    qtbot.waitUntil(lambda: len(active_rows()) == 1, timeout=10_000)
    row = active_rows()[0]
    assert "tiny" in dialog.model_list.item(row).text()
    assert "KB" in dialog.model_list.item(row).text() or "MB" in dialog.model_list.item(row).text()
    dialog.model_list.setCurrentRow(row)
    assert not dialog.use_button.isEnabled()          # it is already the active model

    dialog.sample_fps.setValue(4.0)
    dialog.max_moment.setValue(6.0)
    assert "@eaDir" in dialog.exclude.toPlainText().splitlines()
    dialog.exclude.setPlainText("@eaDir\n\n  Work/raw  \n")
    next(b for b in dialog.device_group.buttons() if b.property("device") == "cpu").setChecked(True)
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    with qtbot.waitSignal(dialog.theme_chosen) as chosen, qtbot.waitSignal(dialog.settings_saved):
        dialog._on_accept()
    assert chosen.args == ["dark"]
    assert (library.settings.sample_fps, library.settings.max_segment_seconds, library.settings.device) == \
        (4.0, 6.0, "cpu")
    saved = json.loads((library.path / "settings.json").read_text())
    assert saved["sample_fps"] == 4.0 and saved["device"] == "cpu" and saved["exclude"] == ["@eaDir", "Work/raw"]
    runner.wait()


def test_install_failure_is_shown_not_raised(qtbot, themed, library):
    runner = TaskRunner()
    dialog = SettingsDialog(library, runner)
    qtbot.addWidget(dialog)
    dialog.install_spec.setText("no-such-model/never")
    dialog._on_install()
    qtbot.waitUntil(lambda: dialog.install_button.isEnabled(), timeout=20_000)
    assert dialog.install_status.text() and "Traceback" not in dialog.install_status.text()
    runner.wait()


def test_a_result_for_a_closed_window_is_dropped(qtbot):
    """Work that outlives its dialog must not call into the deleted widgets."""
    import threading

    from PySide6.QtWidgets import QLabel

    runner = TaskRunner()
    label = QLabel()
    release = threading.Event()
    runner.run(lambda: release.wait(10) and "late", lambda text: label.setText(text), owner=label)
    label.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(label), timeout=5_000)
    release.set()
    runner.wait()
    qtbot.wait(50)                                     # the queued callback would run here, and raise

    seen = []
    alive = QLabel()
    qtbot.addWidget(alive)
    runner.run(lambda: "ok", lambda text: (alive.setText(text), seen.append(text)), owner=alive)
    qtbot.waitUntil(lambda: seen == ["ok"], timeout=5_000)
    assert alive.text() == "ok"


def test_theme_switch_recolours(qapp):
    assert theme.apply(qapp, "dark").name == "dark"
    assert "#15161a" in qapp.styleSheet()
    assert theme.apply(qapp, "light").name == "light"


def test_install_progress_lines_drive_the_bar(qtbot, themed, library):
    dialog = SettingsDialog(library, TaskRunner())
    qtbot.addWidget(dialog)
    dialog._on_install_message("downloading open_clip_pytorch_model.bin: 42% of 350 MB")
    assert dialog.install_bar.maximum() == 100 and dialog.install_bar.value() == 42
    assert dialog.install_status.text().startswith("downloading")


def test_sharing_tab_points_the_library_at_a_shared_catalog_and_vectors(qtbot, themed, library, tiny_bundle,
                                                                        postgres_url, milvus_store_url):
    from engine.api import Library

    dialog = SettingsDialog(library, TaskRunner())
    qtbot.addWidget(dialog)
    dialog.catalog_url.setText("mysql://somewhere/db")
    dialog._on_accept()
    assert "PostgreSQL URL" in dialog.error.text() and library.settings.catalog_url == ""
    dialog.catalog_url.setText(postgres_url)
    dialog.vector_store.setText(milvus_store_url)
    with qtbot.waitSignal(dialog.settings_saved):
        dialog._on_accept()
    saved = json.loads((library.path / "settings.json").read_text())
    assert (saved["catalog_url"], saved["vector_store"]) == (postgres_url, milvus_store_url)
    library.close()
    # What the window does when it next opens this library folder.
    shared = Library.open(library.path, model=tiny_bundle)
    try:
        assert shared.catalog.dialect == "postgresql" and shared.vectors.shared_watermark
        assert shared.search("anything") == []
    finally:
        shared.close()


def test_ask_user_returns_the_answer_and_shows_a_path_as_typed(qtbot, themed):
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen = []

    def answer(button) -> None:
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        seen.append((box.text(), box.textFormat(), box.defaultButton() is box.button(QMessageBox.StandardButton.No)))
        box.button(button).click()

    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.Yes))
    assert ask_user(None, "Remove folder?", "Remove /v/<b>x</b> from the library?") is True
    assert seen == [("Remove /v/<b>x</b> from the library?", Qt.TextFormat.PlainText, True)]
    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.No))
    assert ask_user(None, "Remove folder?", "Again?") is False
