"""``python -m discover.cli`` runs the command line."""

from discover.cli import main

main()
