"""Results dragged out of the grid: the files for other programs, the moments themselves for ClipSeek.

A drop on a file manager, an editor or a chat gets the video files (``text/uri-list``); a text field gets
"path @ start – end" lines; ClipSeek's own search field gets the moments, to find moments like them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields

from PySide6.QtCore import QMimeData, QUrl

from desktop_app.formatting import moment_reference
from engine.api.types import Moment

MOMENTS_MIME = "application/x-clipseek-moments"
_FIELDS = {field.name for field in fields(Moment)}


def moments_mime_data(moments: list[Moment]) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(path) for path in dict.fromkeys(m.path for m in moments)])
    data.setText("\n".join(moment_reference(m) for m in moments))
    data.setData(MOMENTS_MIME, json.dumps([asdict(m) for m in moments]).encode())
    return data


def dropped_moments(mime: QMimeData) -> list[Moment]:
    """The moments a drag from the results carries; none for anything else (or data that does not parse)."""
    if not mime.hasFormat(MOMENTS_MIME):
        return []
    try:
        items = json.loads(bytes(mime.data(MOMENTS_MIME)).decode())
        return [Moment(**{**{k: v for k, v in item.items() if k in _FIELDS},
                          "segment_ids": tuple(item.get("segment_ids", ()))}) for item in items]
    except (ValueError, TypeError, AttributeError):
        return []
