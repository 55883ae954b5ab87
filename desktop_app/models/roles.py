"""Custom item-data roles shared by the models and their delegates."""
from __future__ import annotations

from PySide6.QtCore import Qt

ItemRole = Qt.ItemDataRole.UserRole + 1       # the engine object itself (Moment, FolderInfo, Problem)
SubtitleRole = Qt.ItemDataRole.UserRole + 2   # secondary line (time range, folder path, reason)
ScoreRole = Qt.ItemDataRole.UserRole + 3      # float score of a Moment
CountsRole = Qt.ItemDataRole.UserRole + 4     # dict of counts of a folder
