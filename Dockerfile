# KneeGrade: the REST API and the SPA on port 5011, CPU-only.
#   docker build -t kneegrade .
#   docker run -p 5011:5011 -v kneegrade-data:/app/data kneegrade
# It serves the released real-radiograph model committed in models/ (its weights are checked
# against the sha256 in its card at start), so nothing trains at start. To serve other models,
# mount their folders and list them in KNEEGRADE_MODELS_DIR (comma-separated).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# CPU wheels of torch first, in their own layer: the ml pins (==2.14.1) accept the +cpu builds.
RUN pip install --index-url https://download.pytorch.org/whl/cpu \
        torch==2.14.1 torchvision==0.29.1

WORKDIR /app
COPY ml/pyproject.toml ml/
COPY ml/kneegrade_ml ml/kneegrade_ml
COPY backend/pyproject.toml backend/
COPY backend/kneegrade_api backend/kneegrade_api
RUN pip install ./ml ./backend && rm -rf ml backend

COPY frontend frontend
COPY models models
COPY localiser localiser

RUN useradd --create-home --uid 10001 kneegrade \
    && mkdir -p /app/data \
    && chown kneegrade:kneegrade /app/data
USER kneegrade

ENV KNEEGRADE_DATA_DIR=/app/data \
    KNEEGRADE_MODELS_DIR=/app/models \
    KNEEGRADE_LOCALISER_DIR=/app/localiser \
    KNEEGRADE_SAMPLES_DIR=/app/samples \
    KNEEGRADE_FRONTEND_DIR=/app/frontend

VOLUME ["/app/data"]
EXPOSE 5011

# Loading the models and migrating the database take seconds: a short start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5011/api/health', timeout=4)"]

CMD ["kneegrade-api", "--host", "0.0.0.0", "--port", "5011"]
