"""Heatmaps off the request path: an upload's answer does not wait for Grad-CAM.

Each knee's heatmap is made by a background task once the answer has been sent, or on the first
request for it when that has not happened yet (a server stopped in between loses nothing: the
heatmap is made again from the stored image, the knee's box and its grade).
"""

import logging
from collections.abc import Sequence

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

log = logging.getLogger(__name__)


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


def make_heatmaps(state: AppState, prediction_ids: Sequence[int]) -> None:
    """The background task after an upload: each knee's heatmap, in a session of its own."""
    with state.sessions() as session:
        for prediction_id in prediction_ids:
            prediction = session.get(Prediction, prediction_id)
            if prediction is None:  # deleted before its heatmap was made
                continue
            try:
                heatmap_of(session, state, prediction)
            except Exception:  # made on request instead; the answer has gone already
                session.rollback()
                log.exception("heatmap of prediction %s not made", prediction_id)


def _joint(prediction: Prediction, image) -> Joint:
    """The knee's frame as stored; the whole image for predictions made before knees had one."""
    if not prediction.knee_box:
        return whole_image(image)
    x, y, width, _ = prediction.knee_box
    return Joint(x + width / 2, y + width / 2, width, 1.0)
