"""``python -m quantalloc`` runs the command-line interface."""

from quantalloc.cli.app import main

main()
