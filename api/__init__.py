"""HTTP adapter: FastAPI app, routes and server-rendered pages. No business rules here."""
