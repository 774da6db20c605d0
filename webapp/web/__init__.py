"""HTTP views: thin adapters from requests to the services in webapp.calls."""
