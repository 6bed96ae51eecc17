"""Trending: the pure score, its explanation, and the GitHub stars history."""
