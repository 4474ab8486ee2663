"""Money is integer fen; this is the one place it turns into text."""


def yuan(fen: int) -> str:
    """300.00 for 30000 fen, by integer arithmetic (a float never touches money)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
