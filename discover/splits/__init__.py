"""The instances a run is scored on, with their exact references.

``datasets`` builds the training and validation splits, ``selection`` the split that decides
which leaders are validated, ``references`` computes exact references once and caches them
in the archive.
"""
