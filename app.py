"""Entry point of 生态红线一张图.

    python app.py                 # serves the demo data on http://127.0.0.1:5000 with waitress
    flask --app app run           # the same through Flask's development server
    flask --app app --help        # the command-line tools (screen, shares, sections, users, layers)
"""
from web import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    from waitress import serve

    application = create_app()
    host, port = application.config["HOST"], application.config["PORT"]
    print(f"生态红线一张图：http://{host}:{port}/  (Ctrl+C 停止)")
    cfg = application.config
    # deliberate limits: half-sent requests from a few clients must not use up every connection (waitress' default is
    # 100) nor stay open for minutes; a reverse proxy in front bounds them per client (README, 生产部署)
    serve(application, host=host, port=port, threads=cfg["SERVER_THREADS"], connection_limit=cfg["SERVER_CONNECTION_LIMIT"],
          channel_timeout=cfg["SERVER_CHANNEL_TIMEOUT"], cleanup_interval=min(30, cfg["SERVER_CHANNEL_TIMEOUT"]))
