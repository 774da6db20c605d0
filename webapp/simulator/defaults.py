"""Credentials of a standalone simulator, which the app assumes when EXOTEL_API_BASE is set without credentials.

They guard nothing real: the simulator places no calls. The simulator that the
app embeds for `make run` gets a random token instead.
"""

ACCOUNT_SID = "simulator"
API_KEY = "simulator"
API_TOKEN = "simulator"
