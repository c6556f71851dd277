"""The web portals: server-rendered pages on the same selectors and services as the API."""
