"""`python -m paperfeed`: the same command line as the `paperfeed` script."""

from paperfeed.cli import main

main()
