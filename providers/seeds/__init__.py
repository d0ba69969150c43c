"""The four seed providers, as the seeds document them: ARTA, Prodia, the SD 3.5 Space and
Dynaspark (vision)."""
