"""Open platform: API keys and the open API (/open/v1/) for merchants' own systems."""
