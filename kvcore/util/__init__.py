"""Small asyncio helpers the core shares."""
