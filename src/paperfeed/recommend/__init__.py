"""For you: per-reader recommendations learned from each reader's signals (votes, saves, more/less, seeds)."""
