"""Call state: the model and its pure transitions (no I/O)."""
