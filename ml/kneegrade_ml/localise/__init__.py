"""Knee joint localisation: find each knee in any radiograph and crop it the way the graders were
trained (square, joint centred, the Chen 2018 framing), so wide, bilateral and full-leg images
grade like single-knee crops."""
