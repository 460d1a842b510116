"""The shared kernel: plumbing every app uses, importing no app of the project."""
