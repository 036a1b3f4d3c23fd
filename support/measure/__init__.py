"""Measurement: memory per thread/task, C10K costs, the zero-CPU simulation of a crawl,
asyncio watchers, class-size scaling.

Floor: above web and labsite; below crawlers' users (servers, checks, tools)."""
