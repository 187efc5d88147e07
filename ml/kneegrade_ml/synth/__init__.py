"""The seeded synthetic knee radiograph generator (`kneegrade synth`)."""
