"""The `loratui` command line: thin shells over the core libraries."""
