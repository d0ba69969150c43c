"""What the services share: refusing a request politely and admitting a job under the user's cap."""

from __future__ import annotations

from ..jobs import Job, TooManyJobs
from ..runtime import Runtime


class Rejected(Exception):
    """The request cannot be accepted; ``str(error)`` is the reply for the user."""


def admit(runtime: Runtime, job: Job) -> None:
    """Counts the job against the user's cap, or Rejected saying how many they may run."""
    try:
        runtime.jobs.admit(job)
    except TooManyJobs:
        limit = runtime.settings.max_jobs_per_user
        raise Rejected(
            f"You already have {limit} job{'s' if limit > 1 else ''} running. "
            "Wait for one to finish, or send /cancel."
        ) from None
