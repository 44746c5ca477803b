"""Where calls come from: the connector interface and its registry (connectors), and the sources (sample, files, wrds, prefetch)."""
