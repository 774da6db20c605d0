"""Calls: the status rules, validation, and the services that place calls and record events."""
