"""Entry point (placeholder until the sidekick lands)."""


def main() -> int:
    return 0
