"""``python -m loyalcode`` runs the command line."""

from loyalcode.cli import main

main()
