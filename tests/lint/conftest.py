"""The corpus is source for the static check to read, never tests to collect or import."""

collect_ignore_glob = ["corpus/*"]
