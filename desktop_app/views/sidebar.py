"""The library sidebar: folders with their counts and state; add, remove, rescan; problems."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListView, QMenu, QPushButton, QStyle,
                               QStyledItemDelegate, QToolButton, QVBoxLayout, QWidget)

from desktop_app import theme
from desktop_app.models.folders_model import FoldersModel
from desktop_app.models.roles import CountsRole, ItemRole, SubtitleRole
from engine.api.types import FolderInfo


class FolderDelegate(QStyledItemDelegate):
    """Folder icon, name, state line and small count chips (indexed, pending, failed)."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, 64)

    def paint(self, painter: QPainter, option, index) -> None:
        c = theme.current()
        folder: FolderInfo = index.data(ItemRole)
        rect = QRect(option.rect).adjusted(6, 2, -6, -2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c.accent_soft))
            painter.drawRoundedRect(QRectF(rect), 8, 8)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c.hover))
            painter.drawRoundedRect(QRectF(rect), 8, 8)
        icon_color = c.danger if folder.state == "missing" else c.accent
        theme.icon("folder", icon_color, 20).paint(painter, QRect(rect.left() + 8, rect.top() + 10, 20, 20))

        name_font = QFont(option.font)
        name_font.setPixelSize(13)
        name_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(QColor(c.text))
        left = rect.left() + 36
        name_rect = QRect(left, rect.top() + 8, rect.right() - left - 6, 18)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(name_font).elidedText(index.data(Qt.ItemDataRole.DisplayRole),
                                                            Qt.TextElideMode.ElideMiddle, name_rect.width()))
        small = QFont(option.font)
        small.setPixelSize(11)
        painter.setFont(small)
        state_color = c.danger if folder.state == "missing" else (c.accent if folder.state == "indexing" else c.muted)
        painter.setPen(QColor(state_color))
        painter.drawText(QRect(left, rect.top() + 27, name_rect.width(), 14), Qt.AlignmentFlag.AlignVCenter,
                         index.data(SubtitleRole))
        counts = index.data(CountsRole)
        x = left
        metrics = QFontMetrics(small)
        for key, color in (("indexed", c.success), ("pending", c.muted), ("failed", c.danger),
                           ("skipped", c.muted)):
            if counts[key] == 0 and key != "indexed":
                continue
            text = f"{counts[key]} {key}"
            width = metrics.horizontalAdvance(text) + 10
            chip = QRectF(x, rect.top() + 43, width, 15)
            tint = QColor(color)
            tint.setAlpha(40)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            painter.drawRoundedRect(chip, 7, 7)
            painter.setPen(QColor(color))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)
            x += width + 4
        painter.restore()


class Sidebar(QWidget):
    """Signals: ``add_requested()``, ``remove_requested(str path)``, ``rescan_requested()``,
    ``problems_toggled(bool)``, and from a folder's menu (right-click or the Menu key)
    ``search_in_requested(str path)``, ``search_inside_requested(str path)`` (to pick a folder inside it),
    ``reveal_requested(str path)``, ``rescan_folder_requested(str path)`` and, for a folder not found,
    ``locate_requested(str path)``; from the card shown over the demo library's folders, ``own_library_requested()``."""

    add_requested = Signal()
    remove_requested = Signal(str)
    search_in_requested = Signal(str)
    search_inside_requested = Signal(str)
    reveal_requested = Signal(str)
    locate_requested = Signal(str)
    rescan_requested = Signal()
    rescan_folder_requested = Signal(str)
    problems_toggled = Signal(bool)
    own_library_requested = Signal()

    def __init__(self, model: FoldersModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(220)
        self.model = model

        heading = QLabel("FOLDERS")
        heading.setObjectName("SidebarHeading")
        self.add_button = QToolButton()
        self.add_button.setToolTip("Add a folder…")
        self.add_button.setAccessibleName("Add a folder")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QToolButton()
        self.remove_button.setToolTip("Remove the selected folder from the library")
        self.remove_button.setAccessibleName("Remove folder")
        self.remove_button.clicked.connect(self._on_remove)
        self.rescan_button = QToolButton()
        self.rescan_button.setToolTip("Rescan folders and index new or changed files")
        self.rescan_button.setAccessibleName("Rescan folders")
        self.rescan_button.clicked.connect(self.rescan_requested)
        header = QHBoxLayout()
        header.setContentsMargins(14, 14, 8, 4)
        header.addWidget(heading)
        header.addStretch(1)
        for button in (self.rescan_button, self.remove_button, self.add_button):
            header.addWidget(button)

        self.demo_card = QFrame()
        self.demo_card.setObjectName("DemoCard")
        demo_text = QLabel("<b>The demo library</b><br>Videos of coloured shapes that ClipSeek made, to try it on. "
                           "Your own videos go into your library.")
        demo_text.setObjectName("DemoText")
        demo_text.setWordWrap(True)
        self.own_library_button = QPushButton("Open my library")
        self.own_library_button.setToolTip("Leave the demo: open your own library (the demo stays as it is)")
        self.own_library_button.clicked.connect(self.own_library_requested)
        card = QVBoxLayout(self.demo_card)
        card.setContentsMargins(12, 10, 12, 12)
        card.setSpacing(8)
        card.addWidget(demo_text)
        card.addWidget(self.own_library_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.demo_card.hide()

        self.list = QListView()
        self.list.setAccessibleName("Library folders")
        self.list.setObjectName("SidebarList")
        self.list.setModel(model)
        self.list.setItemDelegate(FolderDelegate(self.list))
        self.list.setMouseTracking(True)
        self.list.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        model.modelReset.connect(self._update_buttons)

        self.empty_hint = QLabel("No folders yet.\nAdd one, or drop a folder\nonto the window.")
        self.empty_hint.setObjectName("EmptyState")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.problems_button = QPushButton("Problems")
        self.problems_button.setObjectName("ProblemsButton")
        self.problems_button.setCheckable(True)
        self.problems_button.toggled.connect(self.problems_toggled)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 10)
        layout.setSpacing(4)
        layout.addLayout(header)
        demo = QHBoxLayout()
        demo.setContentsMargins(8, 0, 8, 4)
        demo.addWidget(self.demo_card)
        layout.addLayout(demo)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint, 1)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(8, 0, 8, 0)
        bottom.addWidget(self.problems_button)
        layout.addLayout(bottom)
        self.set_problem_count(0)
        self.refresh_icons()
        self._update_buttons()

    def refresh_icons(self) -> None:
        self.add_button.setIcon(theme.icon("folder-plus"))
        self.remove_button.setIcon(theme.icon("minus"))
        self.rescan_button.setIcon(theme.icon("refresh"))
        self.problems_button.setIcon(theme.icon("warning", theme.current().danger
                                                if self._problem_count else theme.current().muted))

    def show_demo_card(self, shown: bool, can_leave: bool = True) -> None:
        """The card that says these are the demo's folders, with "Open my library" where the window can open it."""
        self.demo_card.setVisible(shown)
        self.own_library_button.setEnabled(True)
        self.own_library_button.setVisible(can_leave)

    def set_problem_count(self, count: int) -> None:
        self._problem_count = count
        self.problems_button.setText(f"Problems  ({count})" if count else "Problems")
        self.refresh_icons()

    def selected_folder(self) -> FolderInfo | None:
        rows = self.list.selectionModel().selectedRows()
        return rows[0].data(ItemRole) if rows else None

    def folder_menu(self, folder: FolderInfo) -> QMenu:
        menu = QMenu(self)
        if folder.state == "missing":
            menu.addAction(theme.icon("folder", size=16), "Locate folder…",
                           lambda: self.locate_requested.emit(folder.path))
            menu.addSeparator()
        menu.addAction(theme.icon("search", size=16), "Search only this folder",
                       lambda: self.search_in_requested.emit(folder.path))
        inside = menu.addAction(theme.icon("search", size=16), "Search only in a folder inside it…",
                                lambda: self.search_inside_requested.emit(folder.path))
        reveal = menu.addAction(theme.icon("folder", size=16), "Show in file manager",
                                lambda: self.reveal_requested.emit(folder.path))
        for needs_the_folder in (inside, reveal):       # a folder not found cannot be browsed
            needs_the_folder.setEnabled(folder.state != "missing")
        menu.addAction(theme.icon("refresh", size=16), "Rescan this folder",
                       lambda: self.rescan_folder_requested.emit(folder.path))
        menu.addSeparator()
        menu.addAction(theme.icon("minus", size=16), "Remove from library…",
                       lambda: self.remove_requested.emit(folder.path))
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            index = self.list.currentIndex()          # the Menu key: the current folder's menu
            if not index.isValid():
                return
            pos = self.list.visualRect(index).center()
        self.list.setCurrentIndex(index)
        self.folder_menu(index.data(ItemRole)).popup(self.list.viewport().mapToGlobal(pos))

    def _on_remove(self) -> None:
        folder = self.selected_folder()
        if folder is not None:
            self.remove_requested.emit(folder.path)

    def _update_buttons(self) -> None:
        has_folders = self.model.rowCount() > 0
        self.list.setVisible(has_folders)
        self.empty_hint.setVisible(not has_folders)
        self.remove_button.setEnabled(self.selected_folder() is not None)
        self.rescan_button.setEnabled(has_folders)
