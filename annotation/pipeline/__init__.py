"""Streaming file parsing and writing for import and export; no ORM here."""
