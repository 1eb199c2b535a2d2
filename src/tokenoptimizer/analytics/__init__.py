"""Analytics: every question about spend, from the event store (routes, service, queries)."""
