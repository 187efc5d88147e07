"""Named training recipes: the SPEC's, and the one chosen on real radiographs (README, "Real").

``kneegrade train --recipe NAME`` starts from one of these; any option given on the command line
overrides the recipe's value, which is how the README's variants were run.
"""

from kneegrade_ml.training.loop import SPEC_OPTIONS, TrainOptions

REAL_OPTIONS = TrainOptions(
    epochs=8,
    learning_rate=1e-3,
    schedule="one-cycle",
    weight_decay=0.01,
    class_weight="sqrt-balanced",
    loss="grade-distance",
    distance_weight=0.1,
    trainable_from=14,
    augment_views=4,
    tta_flip=True,
    calibrate=True,
)
"""MobileNetV2 on real knee X-rays, picked on chen2018 val (README's variant table).

The SPEC's split (``features[14:]`` trained) is kept: training from block 11 cost twice as much
per epoch and scored the same within val's noise.
"""

RECIPES: dict[str, TrainOptions] = {"spec": SPEC_OPTIONS, "real": REAL_OPTIONS}
