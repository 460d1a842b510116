"""Quality measures computed from plain values (no ORM): agreement between annotators."""
