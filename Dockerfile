# The dashboard as a container: python:3.11-slim, Debian's Chromium for chart export (kaleido),
# dependencies from uv.lock (uv sync --frozen), a non-root user, health check on /_stcore/health.
#
#   docker build -t ai-dc-returns .
#   docker run --rm -p 8501:8501 --shm-size=256m \
#     --memory=2g --memory-swap=2g --pids-limit=512 --cpus=2 ai-dc-returns   # then open :8501
#
# The memory/pids/cpus ceiling is set at run time (an image cannot set it); the per-session limits
# (upload 1 MB with a parse budget, grid cells, Monte Carlo draws) are in the code and
# .streamlit/config.toml: see docs/deploy.md, "Resource limits".
#
# Headless export from the same image:
#   docker run --rm -v "$PWD/out:/out" ai-dc-returns python -m app export --out /out
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    BROWSER_PATH=/usr/bin/chromium \
    MALLOC_ARENA_MAX=2 \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=1 \
    PATH=/opt/venv/bin:$PATH

# MALLOC_ARENA_MAX=2: glibc otherwise keeps up to 8 arenas per core for the server's threads (one
# per session), which holds freed memory; STREAMLIT_SERVER_MAX_UPLOAD_SIZE repeats the config's
# 1 MB upload limit so a replaced config file cannot lift it.
# Chromium renders PNG/SVG/PDF exports; fonts-liberation gives charts metric-compatible fonts.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-liberation \
 && rm -rf /var/lib/apt/lists/*

# The same uv as the Makefile.
RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first (a cached layer while only the code changes), exactly as locked.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project

# Then the project itself (installed into /opt/venv, so `import model` works from any folder).
COPY model ./model
COPY app ./app
COPY data ./data
COPY docs ./docs
COPY .streamlit ./.streamlit
RUN uv sync --frozen

# Run as an unprivileged user; the code stays owned by root (read-only for the app).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin appuser
USER appuser

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4); sys.exit(0 if r.read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app/streamlit_app.py", \
     "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--browser.gatherUsageStats=false"]
