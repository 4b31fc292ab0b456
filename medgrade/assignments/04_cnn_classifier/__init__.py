"""04_cnn_classifier: A lesion classifier trained the MATLAB way, and its metrics."""

# imported by its grading workers before any student code: the libraries its checks refuse
WORKER_PRELOAD = ("sklearn.metrics", "sklearn.utils.class_weight", "scipy.stats")
