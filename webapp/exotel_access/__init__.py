"""This app's way out to Exotel: its client and the deployment's budget of Exotel requests.

`client.py` makes the app's one ExotelClient on first use, with the timeouts of the
settings, every request drawn from the budget (`permit.py`, over `budget.py`'s
sliding log in the queue's storage). Where the requests go (Exotel, or the
simulator without credentials) is the app wiring's choice, handed in through
`init_exotel`: nothing here imports the simulator, Huey or a view.
"""

from .client import Endpoint, ExotelAccess, account_sid, exotel_client, init_exotel
from .permit import budget_permit, get_budget

__all__ = ["Endpoint", "ExotelAccess", "account_sid", "budget_permit", "exotel_client", "get_budget", "init_exotel"]
