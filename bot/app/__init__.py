"""The application around the desk: config, composition root, HTTP server, CLI, demo, explain."""
