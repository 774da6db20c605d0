"""The browser's pages: one blueprint per area (calls, campaigns, reports, admin, sign-in, home)."""
