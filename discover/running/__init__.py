"""A run's stages behind :func:`discover.runner.run`: set-up, search, validation and resume."""
