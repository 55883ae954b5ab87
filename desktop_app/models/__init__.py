"""Qt item models over the engine's plain data (Moment, FolderInfo, Problem)."""
from desktop_app.models.folders_model import FoldersModel
from desktop_app.models.problems_model import ProblemsModel
from desktop_app.models.results_model import ResultsModel

__all__ = ["FoldersModel", "ProblemsModel", "ResultsModel"]
