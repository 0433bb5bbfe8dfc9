"""Slack front end: slash commands and Block Kit messages with vote buttons (HTTP or Socket Mode)."""
