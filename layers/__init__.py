"""Layer kinds, their storage and their styling."""
