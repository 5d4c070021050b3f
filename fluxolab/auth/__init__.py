"""Authentication: register, login, tokens, password reset."""
