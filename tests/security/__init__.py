"""Security regressions (issue 14), one module per section of the attack sweep: scope on writes, QI
suppression, the audit trail, bad input, and defaults and secrets. Each test reproduces a case that broke."""
