"""Uploaded media: where the bytes live (store), what images look like (images), and the signed,
time-limited URLs through which a message's participants fetch them (signing)."""
