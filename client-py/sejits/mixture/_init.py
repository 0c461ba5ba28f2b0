"""Where EM starts: the responsibilities each init_params method gives (the
first M-step turns them into parameters), drawn from the random state
exactly as scikit-learn draws them, so one seed gives one fit in both; and
the precision Cholesky factor of user-given precisions."""

import numpy as np

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def initial_responsibilities(init_params, X, n_components, random_state):
    """An (N, M) responsibility matrix of X's dtype: one-hot k-means labels
    ("kmeans"), one-hot rows at k-means++ seeds ("k-means++") or at distinct
    random samples ("random_from_data"), or uniform random rows normalized to
    sum to 1 ("random")."""
    n_samples = X.shape[0]
    if init_params == "random":
        resp = np.asarray(random_state.uniform(size=(n_samples, n_components)), dtype=X.dtype)
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return resp
    resp = np.zeros((n_samples, n_components), dtype=X.dtype)
    if init_params == "kmeans":
        resp[np.arange(n_samples), _kmeans_labels(X, n_components, random_state)] = 1
    elif init_params == "random_from_data":
        resp[random_state.choice(n_samples, size=n_components, replace=False), np.arange(n_components)] = 1
    elif init_params == "k-means++":
        resp[kmeans_plusplus_indices(X, n_components, random_state), np.arange(n_components)] = 1
    else:
        raise ValueError(f"init_params must be one of {', '.join(map(repr, INIT_METHODS))}, not {init_params!r}")
    return resp


def _kmeans_labels(X, n_components, random_state):
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        raise ImportError(
            "GaussianMixture(init_params='kmeans') needs scikit-learn (its KMeans), which is not installed. "
            "Install scikit-learn, or choose init_params='k-means++', 'random' or 'random_from_data', or give "
            "weights_init, means_init and precisions_init.") from None
    return KMeans(n_clusters=n_components, n_init=1, random_state=random_state).fit(X).labels_


def kmeans_plusplus_indices(X, n_clusters, random_state):
    """The rows k-means++ seeds with: scikit-learn's kmeans_plusplus where it
    is installed, else the same greedy choice drawing the same numbers."""
    try:
        from sklearn.cluster import kmeans_plusplus
    except ImportError:
        return greedy_kmeans_plusplus(X, n_clusters, random_state)
    return kmeans_plusplus(X, n_clusters, random_state=random_state)[1]


def greedy_kmeans_plusplus(X, n_clusters, random_state):
    """Greedy k-means++ (Arthur and Vassilvitskii, with 2 + log(k) local
    trials per center) as scikit-learn runs it: the same draws from
    random_state, the same distances in the same dtype."""
    n_samples = X.shape[0]
    n_local_trials = 2 + int(np.log(n_clusters))
    sample_weight = np.ones(n_samples, dtype=X.dtype)
    x_squared_norms = np.einsum("ij,ij->i", X, X)
    indices = np.full(n_clusters, -1, dtype=int)

    first = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    indices[0] = first
    closest_dist_sq = _squared_distances(X[first][np.newaxis, :], X, x_squared_norms)
    current_pot = closest_dist_sq @ sample_weight
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidate_ids = np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), rand_vals)
        np.clip(candidate_ids, None, closest_dist_sq.size - 1, out=candidate_ids)  # rounding can overshoot
        distance_to_candidates = _squared_distances(X[candidate_ids], X, x_squared_norms)
        np.minimum(closest_dist_sq, distance_to_candidates, out=distance_to_candidates)
        candidates_pot = distance_to_candidates @ sample_weight.reshape(-1, 1)
        best = np.argmin(candidates_pot)
        current_pot = candidates_pot[best]
        closest_dist_sq = distance_to_candidates[best]
        indices[c] = candidate_ids[best]
    return indices


def _squared_distances(centers, X, x_squared_norms):
    """||c - x||^2 in the expanded form scikit-learn uses (float32 data is
    computed in float64 and rounded back), clipped at 0."""
    if X.dtype == np.float32:
        centers64, X64 = centers.astype(np.float64), X.astype(np.float64)
        distances = -2 * (centers64 @ X64.T)
        distances += np.einsum("ij,ij->i", centers64, centers64)[:, np.newaxis]
        distances += np.einsum("ij,ij->i", X64, X64)[np.newaxis, :]
        distances = distances.astype(np.float32)
    else:
        distances = -2 * (centers @ X.T)
        distances += np.einsum("ij,ij->i", centers, centers)[:, np.newaxis]
        distances += x_squared_norms[np.newaxis, :]
    return np.maximum(distances, 0, out=distances)


def precisions_cholesky_from_precisions(precisions, covariance_type):
    """The upper-triangular U with U U^T = precision (full, tied): the lower
    Cholesky factor of the precision with rows and columns reversed, reversed
    back; sqrt(precision) for diag and spherical."""
    if covariance_type in ("full", "tied"):
        flipped = precisions[..., ::-1, ::-1]
        return np.ascontiguousarray(np.linalg.cholesky(flipped)[..., ::-1, ::-1])
    return np.sqrt(precisions)
