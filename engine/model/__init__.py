"""The case file and what reads it: errors with file and line, YAML with line numbers, the case-file model."""
