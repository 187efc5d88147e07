"""The three KL classifiers: MobileNetV2 transfer learning, a custom CNN, a Random Forest."""
