"""Indexing: scan folders, plan the work, run it in worker processes, write results."""
