"""Read queries behind the pages and reports. Each takes a connection first and, for identified data,
a `Scope`; all aggregation happens in DuckDB SQL with bound parameters."""
