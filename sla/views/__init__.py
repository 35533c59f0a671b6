"""The office's pages: the battle map (dashboard), the lobby screen, exports."""
