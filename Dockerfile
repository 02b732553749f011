# pricefeed in one image, the Procfile's one-box mode by default (compose.yaml runs it):
#   docker build -t pricefeed . && docker run -p 127.0.0.1:8000:8000 -v pricefeed-var:/app/var pricefeed
# The browser files the app serves (htmx, Swagger UI) come from npm in a build stage, so the
# image itself carries no Node.js.
FROM node:20-slim AS assets
WORKDIR /src/static
COPY static/package.json static/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.8 \
    && useradd --create-home --uid 10001 pricefeed
WORKDIR /app

# dependencies first, from the lock: a code change does not reinstall them
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project

COPY --from=assets /src/static/node_modules static/node_modules
COPY static/*.css static/*.js static/
COPY templates templates
COPY migrations migrations
COPY pricefeed pricefeed
COPY app.py ./
RUN uv sync --locked --no-dev --no-editable \
    && mkdir -p var && chown pricefeed:pricefeed var

USER pricefeed
# the data directory: database, queue, server secret and the sign-in token (`pricefeed token`)
VOLUME ["/app/var"]
# inside a container the port must be reachable from outside it: publish it on the host's
# loopback, or behind a proxy (README, "Exposing the service beyond loopback")
ENV PRICEFEED__SERVER__HOST=0.0.0.0
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]
CMD ["pricefeed", "run"]
