"""Settings over a real (empty) Library: models, device, sampling, theme."""
from __future__ import annotations

import json

import pytest

from desktop_app import theme
from desktop_app.views.settings_dialog import SettingsDialog
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

    dialog.import_model(str(tiny_bundle))
    qtbot.waitUntil(lambda: dialog.model_list.count() >= 1, timeout=10_000)
    item = dialog.model_list.item(0)
    assert "[active" in item.text() and ("KB" in item.text() or "MB" in item.text())
    dialog.model_list.setCurrentRow(0)
    assert not dialog.use_button.isEnabled()          # it is already the active model

    dialog.sample_fps.setValue(4.0)
    dialog.max_moment.setValue(6.0)
    next(b for b in dialog.device_group.buttons() if b.property("device") == "cpu").setChecked(True)
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    with qtbot.waitSignal(dialog.theme_chosen) as chosen, qtbot.waitSignal(dialog.settings_saved):
        dialog._on_accept()
    assert chosen.args == ["dark"]
    assert (library.settings.sample_fps, library.settings.max_segment_seconds, library.settings.device) == \
        (4.0, 6.0, "cpu")
    saved = json.loads((library.path / "settings.json").read_text())
    assert saved["sample_fps"] == 4.0 and saved["device"] == "cpu"
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
