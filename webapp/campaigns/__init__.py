"""Campaigns: a list of contacts called into one flow, paced, inside a calling window, with retries."""
