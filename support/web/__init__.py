"""What every crawler shares: links (parse, normalise, filter), responses (body, charset,
Retry-After), reasons and outcomes, CrawlOptions and CrawlReport.

Floor: imports only the foundations (support.fmt, support.osutil, support.timeline)."""
