"""The engine's public API: the Library facade and the plain data it returns."""
from engine.api.types import FileStatus, FolderInfo, LibraryStatus, Moment, Problem, Progress
from engine.indexer.control import IndexControl

__all__ = ["FileStatus", "FolderInfo", "IndexControl", "Library", "LibraryStatus", "Moment", "Problem",
           "Progress"]


def __getattr__(name):
    # Library pulls in the catalog and vector store; import it only when asked for.
    if name == "Library":
        from engine.api.library import Library

        return Library
    raise AttributeError(name)
