"""The naive baseline bench_serving.py measures KneeGrade against: a seed-style Flask server.

What a first version of the product would be: save the upload, PIL -> Resize(224) -> ToTensor ->
Normalize -> eager MobileNetV2 -> softmax, one SQLite row, Flask's threaded development server.
No authentication, no heatmap, no localiser. Random weights: the cost is the architecture's.

Run: `.venv/bin/python bench/flask_baseline.py --port 5099 --data /tmp/baseline`.
"""

import argparse
import sqlite3
import threading
import uuid
from pathlib import Path

import torch
from flask import Flask, jsonify, request
from PIL import Image
from torchvision import transforms
from torchvision.models import mobilenet_v2

PREPROCESS = transforms.Compose(
    [
        transforms.Resize((224, 224)),
        transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ]
)


def create_app(data: Path) -> Flask:
    app = Flask(__name__)
    data.mkdir(parents=True, exist_ok=True)
    database = data / "baseline.db"
    with sqlite3.connect(database) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS predictions (path TEXT, grade INT, p REAL)"
        )
    model = mobilenet_v2(num_classes=5).eval()
    lock = threading.Lock()

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.post("/predict")
    def predict():
        upload = request.files["file"]
        path = data / f"{uuid.uuid4().hex}.png"
        upload.save(path)
        image = Image.open(path).convert("RGB")
        with lock, torch.no_grad():
            probabilities = torch.softmax(model(PREPROCESS(image)[None]), 1)[0]
        grade = int(probabilities.argmax())
        with sqlite3.connect(database) as db:
            db.execute(
                "INSERT INTO predictions VALUES (?, ?, ?)",
                (str(path), grade, float(probabilities[grade])),
            )
        return jsonify(grade=grade, probabilities=probabilities.tolist())

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    create_app(args.data).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
