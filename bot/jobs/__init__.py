"""A job's whole life, one owner (life.py): admit, queue, run, status, outcome, resume after a
restart (recovery.py); and what each kind of job runs: imagine.py, ask.py, describe.py, inline.py,
results.py (the buttons under a result). Features hand it a request; it answers in the chat."""
