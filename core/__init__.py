"""Pure helpers every app uses: the business-error type, request-parameter parsing and
queueing a background job by name. Nothing here imports any of our apps."""
