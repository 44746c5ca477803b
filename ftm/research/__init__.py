"""What researchers measure from the themes: sentence sentiment, theme exposure, event studies."""
