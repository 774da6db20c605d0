"""HTTP: thin adapters from requests to the services.

- `pages/`: the browser's blueprints; `browser/`: what only they need (forms, display, sign-in).
- `api/`: the JSON API's blueprint, its resources and its OpenAPI document.
- `machines/`: Exotel's StatusCallbacks and the health probes.
- Here: what every blueprint shares: `errors`, `roles`, `security` (CSRF, headers), `placing` (a call
  placed for the current request).
"""
