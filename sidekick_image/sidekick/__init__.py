"""The vault sidekick: log in to Vault, write the app's secrets to a shared volume, keep them fresh."""
