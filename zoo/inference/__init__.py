"""Reading images with a trained model: readers, shipped models, the served pyfunc, exports, test metrics."""
