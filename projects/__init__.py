"""The bottom app: the Project row and the permission codenames granted on it, known to every other app."""
