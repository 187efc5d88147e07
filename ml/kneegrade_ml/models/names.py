"""Display names of the model kinds, shared by reports, the API and the app."""

MODEL_NAMES: dict[str, str] = {
    "mobilenetv2": "MobileNetV2",
    "cnn": "Custom CNN",
    "rf": "Random Forest",
}
DEFAULT_MODEL = "mobilenetv2"
