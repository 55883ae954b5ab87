"""Choosing the days a search covers: two dates, each with a calendar."""
from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QWidget

DISPLAY_FORMAT = "d MMM yyyy"


class DateRangeDialog(QDialog):
    """``chosen()`` is (first, last) day; the last day is never before the first (moving one moves the other)."""

    def __init__(self, initial: tuple[date, date] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Videos from these days")
        self.setMinimumWidth(300)
        today = date.today()
        first, last = initial or (today - timedelta(days=30), today)
        self.first = self._date_edit(first, "First day")
        self.last = self._date_edit(last, "Last day")
        self.first.dateChanged.connect(lambda d: self.last.setDate(d) if d > self.last.date() else None)
        self.last.dateChanged.connect(lambda d: self.first.setDate(d) if d < self.first.date() else None)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.first)
        form.addRow("To", self.last)
        form.addRow(buttons)

    @staticmethod
    def _date_edit(day: date, name: str) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(DISPLAY_FORMAT)
        edit.setAccessibleName(name)
        return edit

    def chosen(self) -> tuple[date, date]:
        return self.first.date().toPython(), self.last.date().toPython()


def ask_date_range(parent: QWidget | None, initial: tuple[date, date] | None) -> tuple[date, date] | None:
    """The days the user chose, or None when they cancelled."""
    dialog = DateRangeDialog(initial, parent)
    return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None
