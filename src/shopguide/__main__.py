"""``python -m shopguide`` runs the command line."""

from shopguide.cli.app import main

main()
