"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``.

``WECHAT_SIMULATOR=1`` (development and the demo only; refused in production) also serves the local
WeChat simulator, which lives outside the product package.
"""

from server import create_app

app = create_app()
if app.config["WECHAT_SIMULATOR"]:
    from wechat_simulator import mount

    mount(app)
