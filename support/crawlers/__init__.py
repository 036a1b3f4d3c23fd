"""The course's crawlers under one contract, ``crawl(root_url, options) -> CrawlReport``:
blocking (01), callbacks (02), trampoline (04), asyncio_crawler (07); ``registry.CRAWLERS``;
``isolated``: one crawl in a fresh process.

Floor: above web and kernel; never imports the local site (they meet over HTTP)."""
