# KneeGrade: the REST API and the SPA on port 5011, CPU-only.
#   docker build -t kneegrade .
#   docker run -p 5011:5011 -v kneegrade-data:/app/data -v kneegrade-artifacts:/app/artifacts kneegrade
# On first start the container builds the default models (`kneegrade pipeline`, with progress) into
# the artifacts volume, then serves; later starts reuse them. Training MobileNetV2 needs ImageNet
# weights: mount a state_dict and set KNEEGRADE_PRETRAINED to it, or allow torchvision's download.
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

RUN useradd --create-home --uid 10001 kneegrade \
    && mkdir -p /app/data /app/artifacts \
    && chown kneegrade:kneegrade /app/data /app/artifacts
USER kneegrade

ENV KNEEGRADE_DATA_DIR=/app/data \
    KNEEGRADE_MODELS_DIR=/app/artifacts/models \
    KNEEGRADE_SAMPLES_DIR=/app/artifacts/synthetic/samples \
    KNEEGRADE_FRONTEND_DIR=/app/frontend \
    TORCH_HOME=/app/artifacts/torch

VOLUME ["/app/data", "/app/artifacts"]
EXPOSE 5011

# Generous start period: the first start trains the models before the server answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5011/api/health', timeout=4)"]

CMD ["sh", "-c", "test -f artifacts/results/comparison.json || kneegrade pipeline --root artifacts --seed 0; exec kneegrade-api --host 0.0.0.0 --port 5011"]
