"""Endpoints machines call: Exotel's StatusCallbacks (webhooks) and the health probes."""
