"""validate-logs as a library: the digest-chain walk, its readers, its HTTP client and its report."""
