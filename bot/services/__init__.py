"""What the commands do, independent of how updates arrive."""
