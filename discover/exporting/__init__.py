"""Standalone modules of archived programs (``discover export``).

``target`` says what a target means, ``standalone`` exports a program, a run's best program
or a classic baseline, ``contract`` looks up the problem's export contract, ``render``
writes the module's text. Named ``exporting`` because ``discover.export`` is the public API
function, which a subpackage of that name would replace on import.
"""
