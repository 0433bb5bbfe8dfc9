"""The web front end: a live leaderboard, the battles, a blind arena and an admin page, on aiohttp."""
