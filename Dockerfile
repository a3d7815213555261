# The dashboard as a container: python:3.11-slim, Debian's Chromium for chart export (kaleido),
# dependencies from uv.lock, a non-root user, health check on /_stcore/health.
#
#   docker build -t ai-dc-returns .
#   docker run --rm -p 8501:8501 --shm-size=256m \
#     --memory=2g --memory-swap=2g --pids-limit=512 --cpus=2 ai-dc-returns   # then open :8501
#
# Another port: -e STREAMLIT_SERVER_PORT=9000 -p 9000:9000 (the health check follows it), or
# build with --build-arg PORT=9000.
#
# The memory/pids/cpus ceiling is set at run time (an image cannot set it); the per-session limits
# (upload 1 MB with a parse budget, grid cells, Monte Carlo draws) are in the code and
# .streamlit/config.toml: see docs/deploy.md, "Resource limits".
#
# Headless export from the same image, into ./out on the host (as your own user, so the container
# can create ./out and you own what it writes; HOME=/tmp gives Chromium a writable home):
#   mkdir -p out && docker run --rm --user "$(id -u):$(id -g)" -e HOME=/tmp \
#     -v "$PWD/out:/out" ai-dc-returns python -m app export --out /out
#
# Two stages: uv installs the locked dependencies and the project (not editable) into /opt/venv in
# the first; the runtime image gets /opt/venv, Chromium and the entry script, without uv or pip.

# ---- build: uv, the locked environment, the project as a wheel ----------------------------------
FROM python:3.11-slim-bookworm AS build

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

# The same uv as the Makefile.
RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /src

# Dependencies first (a cached layer while only the code changes), exactly as locked, no dev extra.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project --python /usr/local/bin/python3.11

# Then the project itself, installed as a wheel (data/ and docs/ inside it), not linked to /src.
COPY model ./model
COPY app ./app
COPY data ./data
COPY docs ./docs
RUN uv sync --frozen --no-editable --python /usr/local/bin/python3.11

# ---- runtime: Python, Chromium, the environment; no uv, no pip ----------------------------------
FROM python:3.11-slim-bookworm AS runtime

ARG PORT=8501
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BROWSER_PATH=/usr/bin/chromium \
    MALLOC_ARENA_MAX=2 \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=1 \
    STREAMLIT_SERVER_PORT=${PORT} \
    PATH=/opt/venv/bin:$PATH

# MALLOC_ARENA_MAX=2: glibc otherwise keeps up to 8 arenas per core for the server's threads (one
# per session), which holds freed memory; STREAMLIT_SERVER_MAX_UPLOAD_SIZE repeats the config's
# 1 MB upload limit so a replaced config file cannot lift it; STREAMLIT_SERVER_PORT is the port the
# server and its health check use.
# Chromium renders PNG/SVG/PDF exports; fonts-liberation gives charts metric-compatible fonts.
# pip, setuptools and wheel come with the base image; nothing installs at run time, so they go.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-liberation \
 && rm -rf /var/lib/apt/lists/* \
 && python -m pip uninstall --yes pip setuptools wheel \
 && rm -f /usr/local/bin/pip /usr/local/bin/pip3 /usr/local/bin/pip3.11

COPY --from=build /opt/venv /opt/venv

# The entry script and the Streamlit settings; the code itself runs from /opt/venv.
WORKDIR /app
COPY app/streamlit_app.py ./app/streamlit_app.py
COPY .streamlit ./.streamlit

# Run as an unprivileged user; the code stays owned by root (read-only for the app).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin appuser
USER appuser

EXPOSE ${PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ['STREAMLIT_SERVER_PORT']; r = urllib.request.urlopen(f'http://127.0.0.1:{port}/_stcore/health', timeout=4); sys.exit(0 if r.read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app/streamlit_app.py", \
     "--server.address=0.0.0.0", "--server.headless=true", \
     "--browser.gatherUsageStats=false"]
