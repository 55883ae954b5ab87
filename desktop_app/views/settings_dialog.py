"""Settings: models, device, sampling and moment length, a shared catalog and vector store, the theme and
the player that opens moments outside the window."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton, QRadioButton, QTabWidget,
                               QVBoxLayout, QWidget)

from desktop_app import theme
from desktop_app.external_players import SYSTEM_DEFAULT, ExternalPlayer
from desktop_app.formatting import size
from engine.settings import Settings

if TYPE_CHECKING:
    from desktop_app.workers import TaskRunner
    from engine.api import Library

THEMES = (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark"))
DEVICES = (("Automatic (GPU when it works)", "auto"), ("CPU only", "cpu"), ("GPU", "gpu"))


def ask_user(parent: QWidget, title: str, text: str) -> bool:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)          # the question quotes a folder's path
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class SettingsDialog(QDialog):
    """Signals: ``model_changed(int files_to_reindex)``, ``theme_chosen(str)``, ``player_chosen(str)`` (a
    player's key, or ``"system"``), ``settings_saved(Settings)``, ``recent_searches_cleared()`` (at once, not
    on OK).

    ``players`` are the external players found on this computer, offered for "Open in player";
    ``recent_searches`` is how many searches the search field remembers.
    """

    model_changed = Signal(int)
    theme_chosen = Signal(str)
    player_chosen = Signal(str)
    recent_searches_cleared = Signal()
    settings_saved = Signal(object)

    def __init__(self, library: "Library", runner: "TaskRunner", theme_choice: str = "system",
                 indexing: bool = False, parent=None, players: list[ExternalPlayer] = (),
                 player_choice: str = SYSTEM_DEFAULT, recent_searches: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(620, 460)
        self.library = library
        self.runner = runner
        self.indexing = indexing
        self.confirm: Callable[[str, str], bool] = lambda title, text: ask_user(self, title, text)
        self.tabs = QTabWidget()
        self.models_tab = self._models_tab()
        self.tabs.addTab(self.models_tab, "Models")
        self.tabs.addTab(self._device_tab(), "Device")
        self.tabs.addTab(self._indexing_tab(), "Indexing")
        self.tabs.addTab(self._sharing_tab(), "Sharing")
        self.tabs.addTab(self._general_tab(theme_choice, list(players), player_choice, recent_searches), "General")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel("")
        self.error.setStyleSheet(f"color: {theme.current().danger};")
        self.error.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(12)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.refresh_models()
        self.runner.run(lambda: (self.library.providers, self.library.decoding), self._show_providers,
                        lambda message: self.providers_label.setText(f"Unknown ({message})"))

    def show_models(self) -> None:
        self.tabs.setCurrentWidget(self.models_tab)

    # --- tabs ---------------------------------------------------------------------------------
    def _models_tab(self) -> QWidget:
        page = QWidget()
        self.model_list = QListWidget()
        self.model_list.setAccessibleName("Installed models")
        self.model_list.itemSelectionChanged.connect(self._update_model_buttons)
        self.use_button = QPushButton("Use this model")
        self.use_button.setProperty("primary", True)
        self.use_button.clicked.connect(self._on_use_model)
        self.import_button = QPushButton("Import a bundle…")
        self.import_button.setIcon(theme.icon("folder-plus", size=16))
        self.import_button.clicked.connect(self._on_import)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(self.use_button)

        self.install_spec = QLineEdit()
        self.install_spec.setPlaceholderText("open_clip name/tag, e.g. ViT-B-32/laion2b_s34b_b79k")
        self.install_button = QPushButton("Install")
        self.install_button.setIcon(theme.icon("export", size=16))
        self.install_button.clicked.connect(self._on_install)
        install_row = QHBoxLayout()
        install_row.addWidget(self.install_spec, 1)
        install_row.addWidget(self.install_button)
        self.install_status = QLabel("")
        self.install_status.setObjectName("StatusText")
        self.install_status.setWordWrap(True)
        self.install_bar = QProgressBar()
        self.install_bar.setRange(0, 0)
        self.install_bar.setTextVisible(False)
        self.install_bar.hide()

        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.addWidget(QLabel("Installed models"))
        layout.addWidget(self.model_list, 1)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Install a pretrained model"))
        layout.addLayout(install_row)
        layout.addWidget(self.install_bar)
        layout.addWidget(self.install_status)
        return page

    def _device_tab(self) -> QWidget:
        page = QWidget()
        self.device_group = QButtonGroup(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.addWidget(QLabel("Run the model and decode video on"))
        for label, value in DEVICES:
            button = QRadioButton(label)
            button.setProperty("device", value)
            button.setChecked(self.library.settings.device == value)
            self.device_group.addButton(button)
            layout.addWidget(button)
        layout.addSpacing(12)
        self.providers_label = QLabel("Checking what the engine uses…")
        self.providers_label.setWordWrap(True)
        layout.addWidget(QLabel("The engine is using:"))
        layout.addWidget(self.providers_label)
        note = QLabel("A device change takes effect the next time ClipSeek starts.")
        note.setObjectName("StatusText")
        layout.addWidget(note)
        layout.addStretch(1)
        return page

    def _indexing_tab(self) -> QWidget:
        page = QWidget()
        settings = self.library.settings
        self.sample_fps = QDoubleSpinBox()
        self.sample_fps.setRange(0.1, 30.0)
        self.sample_fps.setSingleStep(0.5)
        self.sample_fps.setSuffix(" frames per second")
        self.sample_fps.setValue(settings.sample_fps)
        self.max_moment = QDoubleSpinBox()
        self.max_moment.setRange(1.0, 600.0)
        self.max_moment.setSuffix(" seconds")
        self.max_moment.setValue(settings.max_segment_seconds)
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setSpacing(12)
        self.watch_folders = QCheckBox("Pick up new, changed and deleted videos while ClipSeek is open")
        self.watch_folders.setChecked(settings.watch_folders)
        self.keep_catalog_copy = QCheckBox("Keep a daily copy of the catalog, to put back if it is ever damaged")
        self.keep_catalog_copy.setChecked(settings.keep_catalog_copy)
        self.keep_catalog_copy.setToolTip("After indexing, at most once a day, a checked copy of the library's "
                                          "catalog (which holds every video's moments) is kept beside it. It is as "
                                          "large as the catalog; turning it off deletes the copy kept.")
        self.exclude = QPlainTextEdit("\n".join(settings.exclude))
        self.exclude.setObjectName("ExcludeList")
        self.exclude.setToolTip("One per line. A name (@eaDir, *.part.mp4) is left out wherever it is; a path "
                                "(Work/raw) is left out from the start of a folder, with everything below it; a "
                                "leading / makes a path of one name (/clip.mp4: that file of the folder itself); a "
                                "path that starts with a library folder's own, as Leave out in Problems writes it, "
                                "is for that folder alone.")
        self.exclude.setFixedHeight(self.exclude.fontMetrics().lineSpacing() * 5 + 26)
        form.addRow("Sampling rate", self.sample_fps)
        form.addRow("Longest moment", self.max_moment)
        form.addRow("Watch folders", self.watch_folders)
        form.addRow("Catalog copy", self.keep_catalog_copy)
        form.addRow("Leave out", self.exclude)
        hint = QLabel("Higher sampling finds shorter events but indexes more slowly. "
                      "Changes apply to files indexed from now on. Without watching, the rescan button "
                      "beside Folders looks for changes. Videos in folders or with names left out (one per "
                      "line) leave the library at the next indexing; hidden ones always stay out.")
        hint.setObjectName("StatusText")
        hint.setWordWrap(True)
        form.addRow(hint)
        return page

    def _sharing_tab(self) -> QWidget:
        page = QWidget()
        settings = self.library.settings
        self.catalog_url = QLineEdit(settings.catalog_url)
        self.catalog_url.setPlaceholderText("this computer: catalog.sqlite in the library folder")
        self.catalog_url.setToolTip("postgresql://user@host:5432/dbname")
        self.vector_store = QLineEdit(settings.vector_store)
        self.vector_store.setPlaceholderText("this computer: hnswlib index in the library folder")
        self.vector_store.setToolTip("A Milvus server, http://host:19530, or a Milvus Lite file ending in .db")
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setSpacing(12)
        form.addRow("Catalog (PostgreSQL)", self.catalog_url)
        form.addRow("Vectors (Milvus)", self.vector_store)
        hint = QLabel("A library shared by several people or machines keeps its catalog on PostgreSQL and its "
                      "vectors in Milvus; its videos must be at the same paths on every machine. Leave both "
                      "empty for a library of this computer only. Changes take effect when ClipSeek next opens "
                      "the library.")
        hint.setObjectName("StatusText")
        hint.setWordWrap(True)
        form.addRow(hint)
        return page

    def _general_tab(self, theme_choice: str, players: list[ExternalPlayer], player_choice: str,
                     recent_searches: int) -> QWidget:
        page = QWidget()
        self.theme_combo = QComboBox()
        self.theme_combo.setAccessibleName("Theme")
        for label, value in THEMES:
            self.theme_combo.addItem(label, value)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(theme_choice)))
        self.player_combo = QComboBox()
        self.player_combo.setAccessibleName("Open moments in")
        self.player_combo.addItem("The default video player (starts at the beginning)", SYSTEM_DEFAULT)
        for player in players:
            self.player_combo.addItem(f"{player.name} (starts where the moment does)", player.key)
        self.player_combo.setCurrentIndex(max(0, self.player_combo.findData(player_choice)))
        hint = QLabel("“Open in player” hands the file to this program. The default player cannot be told "
                      "where to start; VLC, mpv and MPC-HC can, and are listed here when they are installed.")
        hint.setWordWrap(True)
        hint.setObjectName("StatusText")
        form = QFormLayout(page)
        form.setContentsMargins(14, 14, 14, 14)
        form.setSpacing(12)
        form.addRow("Theme", self.theme_combo)
        form.addRow("Open moments in", self.player_combo)
        form.addRow(hint)
        self.forget_searches = QPushButton(
            "No recent searches" if recent_searches == 0 else
            "Forget 1 recent search" if recent_searches == 1 else f"Forget {recent_searches} recent searches")
        self.forget_searches.setEnabled(recent_searches > 0)
        self.forget_searches.setToolTip("The search field suggests what you searched for before; this empties "
                                        "that list. Nothing leaves this computer either way.")
        self.forget_searches.clicked.connect(self._on_forget_searches)
        forget_row = QHBoxLayout()
        forget_row.addWidget(self.forget_searches)
        forget_row.addStretch(1)
        form.addRow("Search history", forget_row)
        return page

    def _on_forget_searches(self) -> None:
        self.recent_searches_cleared.emit()
        self.forget_searches.setText("Recent searches forgotten")
        self.forget_searches.setEnabled(False)

    # --- models -------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        self.runner.run(self.library.installed_models, self._show_models, self._show_error)

    def _show_models(self, entries) -> None:
        self.model_list.clear()
        for entry in entries:
            tags = ["active"] if entry.active else []
            if getattr(entry, "builtin", False):
                tags.append("built-in")
            detail = f"{size(entry.size_bytes)} · {getattr(entry, 'precision', '')}".rstrip(" ·")
            item = QListWidgetItem(f"{entry.name}   —   {detail}" + (f"   [{', '.join(tags)}]" if tags else ""))
            item.setData(Qt.ItemDataRole.UserRole, entry)
            item.setToolTip(entry.path)
            item.setIcon(theme.icon("sparkle-play" if entry.active else "film", size=18))
            self.model_list.addItem(item)
        self._update_model_buttons()

    def _selected_entry(self):
        items = self.model_list.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _update_model_buttons(self) -> None:
        entry = self._selected_entry()
        self.use_button.setEnabled(entry is not None and not entry.active and not self.indexing)
        self.use_button.setToolTip("Pause or cancel indexing first" if self.indexing else "")

    def _on_use_model(self) -> None:
        entry = self._selected_entry()
        if entry is None:
            return
        if not self.confirm("Switch model?",
                            f"Switch to {entry.name}? Every video will be indexed again with the new model, and "
                            "search results of the current model are dropped. This can take a while."):
            return
        self.use_button.setEnabled(False)
        self.runner.run(lambda: self.library.set_model(entry.path), self._on_model_set, self._show_error)

    def _on_model_set(self, count) -> None:
        self.model_changed.emit(int(count or 0))
        self.refresh_models()

    def _on_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a model bundle (folder with bundle.json)")
        if folder:
            self.import_model(folder)

    def import_model(self, folder: str) -> None:
        self.runner.run(lambda: self.library.import_model(folder), lambda _e: self.refresh_models(),
                        self._show_error, owner=self)

    def _on_install(self) -> None:
        spec = self.install_spec.text().strip()
        if not spec:
            self.install_status.setText("Type the name of a model to install.")
            return
        self.install_button.setEnabled(False)
        self.install_bar.setRange(0, 0)
        self.install_bar.show()
        self.install_status.setText(f"Installing {spec}…")
        relay = _InstallProgress(self)
        relay.message.connect(self._on_install_message)
        self.runner.run(lambda: self.library.install_model(spec, relay.message.emit),
                        self._on_installed, self._on_install_failed)

    def _on_install_message(self, text: str) -> None:
        """Show the installer's line; a percentage in it drives the bar (else it stays busy)."""
        self.install_status.setText(text)
        match = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
        if match:
            self.install_bar.setRange(0, 100)
            self.install_bar.setValue(int(float(match.group(1))))

    def _on_installed(self, entry) -> None:
        self.install_bar.hide()
        self.install_button.setEnabled(True)
        self.install_status.setText(f"Installed {entry.name}.")
        self.refresh_models()

    def _on_install_failed(self, message: str) -> None:
        self.install_bar.hide()
        self.install_button.setEnabled(True)
        self.install_status.setText(message)

    def _show_providers(self, found) -> None:
        providers, decoding = found
        names = ", ".join(p.replace("ExecutionProvider", "") for p in providers) or "nothing (no model loaded)"
        video = "the NVIDIA GPU (NVDEC)" if decoding == "cuda" else "the CPU"
        self.providers_label.setText(f"{names}; video decoded on {video}")

    def _show_error(self, message: str) -> None:
        self.error.setText(message)

    # --- apply --------------------------------------------------------------------------------
    def chosen_settings(self) -> Settings:
        device = next((b.property("device") for b in self.device_group.buttons() if b.isChecked()),
                      self.library.settings.device)
        return replace(self.library.settings, device=device, sample_fps=round(self.sample_fps.value(), 2),
                       max_segment_seconds=round(self.max_moment.value(), 1),
                       watch_folders=self.watch_folders.isChecked(),
                       keep_catalog_copy=self.keep_catalog_copy.isChecked(),
                       exclude=[line.strip() for line in self.exclude.toPlainText().splitlines() if line.strip()],
                       catalog_url=self.catalog_url.text().strip(), vector_store=self.vector_store.text().strip())

    def _on_accept(self) -> None:
        settings = self.chosen_settings()
        try:
            if settings != self.library.settings:
                self.library.update_settings(settings)
                self.settings_saved.emit(settings)
        except Exception as exc:  # noqa: BLE001 - shown to the user; ClipSeekError has the fix in it
            from desktop_app.workers import user_message

            self.error.setText(user_message(exc))
            return
        self.theme_chosen.emit(self.theme_combo.currentData())
        self.player_chosen.emit(self.player_combo.currentData())
        self.accept()


class _InstallProgress(QObject):
    """Carries install messages from the worker thread to the dialog (queued signal)."""

    message = Signal(str)
