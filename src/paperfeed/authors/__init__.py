"""Authors: exact-name author pages, follows, authorship claims, and the name variants a profile groups."""
