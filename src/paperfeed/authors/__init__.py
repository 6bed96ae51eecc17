"""Authors: exact-name author pages, follows, authorship claims and the name variants a claimed profile groups."""
