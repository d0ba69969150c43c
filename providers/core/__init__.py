"""The typed surface every provider shares: requests, events and errors (types.py, errors.py),
the Provider base (provider.py), the entry schema (entry.py), and the shared plumbing: HTTP, SSE,
media sniffing, result outputs, sizes, polling pace and concurrency slots. Imports nothing else of
providers."""
