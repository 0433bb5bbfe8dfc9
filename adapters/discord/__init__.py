"""Discord front end: slash commands, a message per comparison with persistent vote buttons."""
