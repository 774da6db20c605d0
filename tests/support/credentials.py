"""The secrets and the Exotel account every test app is configured with."""

from __future__ import annotations

SECRET_KEY = "test-secret-key-not-for-production-0123456789"
ACCOUNT_SID = "testaccount"
API_KEY = "test-api-key"
API_TOKEN = "test-api-token-s3cr3t-value"  # asserted absent from logs, pages and tables
