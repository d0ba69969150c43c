"""One module per command: its handlers, filters and keyboards together."""
