"""Storage: the log (the truth), snapshots (a cache), and the tables around them."""
