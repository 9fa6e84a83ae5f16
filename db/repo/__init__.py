"""Repository functions: each takes an AsyncSession and never commits (the caller owns it)."""
