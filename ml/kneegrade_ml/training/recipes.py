"""Named training recipes: the SPEC's, and the one chosen on real radiographs (README, "Real").

``kneegrade train --recipe NAME`` starts from one of these; any option given on the command line
overrides the recipe's value, which is how the README's variants were run.
"""

from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions

REAL_OPTIONS = TrainOptions(
    epochs=12,
    learning_rate=1e-3,
    schedule="one-cycle",
    weight_decay=0.01,
    class_weight="sqrt-balanced",
    loss="grade-distance",
    distance_weight=0.1,
    trainable_from=11,
    augment_views=4,
    tta_flip=True,
    calibrate=True,
)
"""MobileNetV2 on real knee X-rays: values picked on chen2018 val (see README's variant table)."""

RECIPES: dict[str, TrainOptions] = {"spec": SPEC_OPTIONS, "real": REAL_OPTIONS}
