"""The SQLite store: one writer with group commit, reads on per-thread connections."""
