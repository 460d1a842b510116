"""Agreement and quality figures of one project, and its gold items, read from the database without writing."""
