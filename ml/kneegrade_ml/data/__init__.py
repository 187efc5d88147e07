"""Reading graded image folders (synthetic or real) and single images, with clear errors."""
