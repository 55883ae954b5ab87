"""Search: query -> stage-1 ANN -> stage-2 rerank -> moments."""
from engine.search.filters import SearchFilters
from engine.search.searcher import Searcher

__all__ = ["SearchFilters", "Searcher"]
