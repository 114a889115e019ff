"""What the tests and the benchmarks both need and no test module holds: services as processes
(`processes`), and databases and broker namespaces of a caller's own (`resources`)."""
