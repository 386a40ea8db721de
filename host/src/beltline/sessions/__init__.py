"""Sessions on this machine: the SQLite store, export and import, raw-file readers, the batch
analysis of a recording and the live session (link -> pipeline -> store)."""
