"""``python -m empathy_metrics`` runs the ``empathy`` command line."""

from empathy_metrics.cli import main

if __name__ == "__main__":
    main()
