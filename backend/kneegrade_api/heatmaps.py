"""Heatmaps off the request path: an upload's answer does not wait for Grad-CAM.

Each knee's heatmap is made on the first request for it, from the stored image, the knee's box
and its grade, and kept. Nothing is lost if the server stops before (it is made when asked), and
clients that never look at heatmaps (most hospital systems) never pay for them.
"""

import numpy as np
from sqlalchemy.orm import Session

from kneegrade_api.exceptions import ModelUnavailable, NotFound
from kneegrade_api.models import Prediction
from kneegrade_api.state import AppState
from kneegrade_ml.serving import (
    Joint,
    heatmap_png,
    read_heatmap_png,
    read_image,
    whole_image,
)


def heatmap_of(session: Session, state: AppState, prediction: Prediction) -> np.ndarray:
    """The prediction's heatmap: the stored one, else made now by its model and stored."""
    if prediction.heatmap_path and state.store.path(prediction.heatmap_path).is_file():
        return read_heatmap_png(state.store.read(prediction.heatmap_path, "heatmap"))
    try:
        served = state.registry.get(prediction.model_id)
    except ModelUnavailable as err:
        raise NotFound(
            f"prediction {prediction.id} has no heatmap yet, and the model that graded it"
            f" ({prediction.model_id}) is not loaded on this server to make one"
        ) from err
    image = read_image(state.store.read(prediction.image_path, "image"))
    heatmap = served.explain(image, _joint(prediction, image), prediction.grade)
    prediction.heatmap_path = state.store.save_heatmap(
        prediction.user_id, heatmap_png(heatmap)
    )
    session.commit()
    return heatmap


def _joint(prediction: Prediction, image) -> Joint:
    """The knee's frame as stored; the whole image for predictions made before knees had one."""
    if not prediction.knee_box:
        return whole_image(image)
    x, y, width, _ = prediction.knee_box
    return Joint(x + width / 2, y + width / 2, width, 1.0)
