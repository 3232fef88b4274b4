"""Contract tests against real engines (Vault first): the fixtures work, and our logic agrees with them."""
