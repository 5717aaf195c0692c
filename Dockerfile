# One image definition, two targets: the portfolio API and a trading strategy.
#
#   docker build --target api      -t quantalloc-api:0.1.0 .
#   docker build --target strategy -t quantalloc-strategy:0.1.0 .
#
# Both carry the same package; they differ only in what they run. deploy/kubernetes.yaml
# uses these names.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY quantalloc ./quantalloc
COPY models ./models
RUN pip install . \
    && useradd --create-home --uid 10001 quantalloc \
    && mkdir -p /data && chown quantalloc /data
USER quantalloc
# The embedded SQLite store when no DATABASE_URL is given (mount a volume at /data to keep it).
ENV QUANTALLOC_DB=/data/quantalloc.db

FROM base AS api
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import httpx; httpx.get('http://127.0.0.1:8000/health').raise_for_status()"
ENTRYPOINT ["quantalloc", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM base AS strategy
# e.g. docker run quantalloc-strategy:0.1.0 orb --mode live --api http://api:8000 --symbols SPY,QQQ
ENTRYPOINT ["quantalloc", "trade"]
CMD ["--help"]
