"""`digits serve`: a drawing page and a JSON API over one loaded model.

`app.py` holds the ASGI app (routes, limits, errors), `server.py` runs it on
uvicorn, and `static/` the page: one HTML, one script, one style sheet,
shipped inside the package so the page works offline.
"""
