"""Fetching feeds over HTTP: limits, the SSRF guard, the fetcher and poll scheduling.

- ``limits``: FetchLimits, the bounds every fetch obeys.
- ``netguard``: URL validation and the address guard (GuardedResolver).
- ``fetcher``: FeedFetcher and FetchResult.
- ``schedule``: pure next-poll decisions (PollPolicy).
"""
