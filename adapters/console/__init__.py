"""The terminal chat: the project's embedded default front end."""
