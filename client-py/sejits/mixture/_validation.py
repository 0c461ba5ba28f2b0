"""What GaussianMixture checks, with scikit-learn's errors: its parameters,
X, and the weights_init, means_init and precisions_init arrays. Where
scikit-learn is installed its own helpers run (its estimator base classes,
validate_data, check_array, NotFittedError, ConvergenceWarning, parameter
constraints), so the messages and behaviour are its own; without it, small
stand-ins below give the same texts for the cases GaussianMixture meets."""

import functools
import inspect
import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_array, check_is_fitted, validate_data
except ImportError:
    HAVE_SKLEARN = False
else:
    HAVE_SKLEARN = True

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


# ---- the parameters ------------------------------------------------------


def _sklearn_constraints():
    """scikit-learn's GaussianMixture parameter constraints and its fit
    decorator, or None where they cannot be imported (both are private to
    scikit-learn): the constraints are its own objects, so the messages are
    its own, word for word."""
    if not HAVE_SKLEARN:
        return None, None
    try:
        from sklearn.base import _fit_context
        from sklearn.mixture import GaussianMixture
    except ImportError:
        return None, None
    constraints = getattr(GaussianMixture, "_parameter_constraints", None)
    if not isinstance(constraints, dict) or set(constraints) != set(_RULES):
        return None, None
    return dict(constraints), _fit_context(prefer_skip_nested_validation=True)


def fit_context(fit_method):
    """Validates the estimator's parameters before `fit_method` runs (with
    scikit-learn: its _fit_context, which also skips the nested estimators'
    validation, as scikit-learn's GaussianMixture does)."""
    if _sklearn_fit_context is not None:
        return _sklearn_fit_context(fit_method)

    @functools.wraps(fit_method)
    def validated(estimator, *args, **kwargs):
        validate_parameters(estimator)
        return fit_method(estimator, *args, **kwargs)

    return validated


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or out of range (scikit-learn's class where it is installed)."""


def _is_int(value):
    return isinstance(value, numbers.Integral)


def _is_float(value):
    return isinstance(value, numbers.Real) and (_is_int(value) or not np.isnan(value))


def _is_array_like(value):
    array_like = hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")
    return array_like and not np.isscalar(value)


def _among(options):
    return "a str among {" + ", ".join(repr(o) for o in options) + "}"


_BOOLEAN = "an instance of 'bool' or an instance of 'numpy.bool'"
_RULES = {
    "n_components": ("an int in the range [1, inf)", lambda v: _is_int(v) and v >= 1),
    "tol": ("a float in the range [0.0, inf)", lambda v: _is_float(v) and v >= 0),
    "reg_covar": ("a float in the range [0.0, inf)", lambda v: _is_float(v) and v >= 0),
    "max_iter": ("an int in the range [0, inf)", lambda v: _is_int(v) and v >= 0),
    "n_init": ("an int in the range [1, inf)", lambda v: _is_int(v) and v >= 1),
    "init_params": (_among(INIT_PARAMS), lambda v: isinstance(v, str) and v in INIT_PARAMS),
    "random_state": ("an int in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None",
                     lambda v: v is None or isinstance(v, np.random.RandomState)
                     or (_is_int(v) and 0 <= v <= 2**32 - 1)),
    "warm_start": (_BOOLEAN, lambda v: isinstance(v, (bool, np.bool_))),
    "verbose": ("an int in the range [0, inf), " + _BOOLEAN,
                lambda v: isinstance(v, (bool, np.bool_)) or (_is_int(v) and v >= 0)),
    "verbose_interval": ("an int in the range [1, inf)", lambda v: _is_int(v) and v >= 1),
    "covariance_type": (_among(COVARIANCE_TYPES), lambda v: isinstance(v, str) and v in COVARIANCE_TYPES),
    "weights_init": ("an array-like or None", lambda v: v is None or _is_array_like(v)),
    "means_init": ("an array-like or None", lambda v: v is None or _is_array_like(v)),
    "precisions_init": ("an array-like or None", lambda v: v is None or _is_array_like(v)),
}


PARAMETER_CONSTRAINTS, _sklearn_fit_context = _sklearn_constraints()


def validate_parameters(estimator):
    """scikit-learn's parameter checks, without scikit-learn."""
    for name, value in estimator.get_params(deep=False).items():
        expected, accepts = _RULES[name]
        if not accepts(value):
            raise InvalidParameterError(f"The {name!r} parameter of {type(estimator).__name__} must be {expected}. "
                                        f"Got {value!r} instead.")


# ---- stand-ins where scikit-learn is missing --------------------------------

if not HAVE_SKLEARN:

    class ConvergenceWarning(UserWarning):
        """EM stopped at max_iter before the lower bound settled."""

    class NotFittedError(ValueError, AttributeError):
        """A method that needs a fitted estimator was called before fit."""

    class BaseEstimator:
        """get_params and set_params from __init__'s keyword parameters, as
        scikit-learn's BaseEstimator provides them."""

        @classmethod
        def _get_param_names(cls):
            signature = inspect.signature(cls.__init__)
            return sorted(p.name for p in signature.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            params = {}
            for name in self._get_param_names():
                value = getattr(self, name)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
                params[name] = value
            return params

        def set_params(self, **params):
            valid = self.get_params(deep=True)
            for key, value in params.items():
                name, _, sub = key.partition("__")
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid parameters are: "
                                     f"{self._get_param_names()!r}.")
                if sub:
                    getattr(self, name).set_params(**{sub: value})
                else:
                    setattr(self, name, value)
            return self

        def _validate_params(self):
            validate_parameters(self)

        def __repr__(self):
            defaults = inspect.signature(type(self).__init__).parameters
            changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                       if not _same_value(v, defaults[k].default)]
            return f"{type(self).__name__}({', '.join(changed)})"

    class DensityMixin:
        """The mixin scikit-learn's density estimators carry."""

        _estimator_type = "DensityEstimator"

    def _same_value(value, default):
        if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
            return False
        try:
            return bool(value == default) and type(value) is type(default)
        except (TypeError, ValueError):
            return False

    def check_random_state(seed):
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral):
            return np.random.RandomState(seed)
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")

    def check_is_fitted(estimator):
        if not [v for v in vars(estimator) if v.endswith("_") and not v.startswith("__")]:
            raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def check_array(array, dtype="numeric", ensure_2d=True, allow_nd=False, ensure_min_samples=1,
                    ensure_min_features=1, estimator=None, input_name=""):
        """scikit-learn's check_array for dense arrays: dtype, rank, finiteness, size."""
        name = estimator if isinstance(estimator, str) or estimator is None else type(estimator).__name__
        context = f" by {name}" if name else ""
        values = np.asarray(array)
        if values.dtype.kind == "c":
            raise ValueError("Complex data not supported\n{}\n".format(values))
        if isinstance(dtype, (list, tuple)):
            values = values if values.dtype in dtype else values.astype(dtype[0])
        elif dtype == "numeric":
            if values.dtype.kind in "USV":
                raise ValueError("dtype='numeric' is not compatible with arrays of bytes/strings."
                                 "Convert your data to numeric values explicitly instead.")
            if values.dtype.kind == "O":
                values = values.astype(np.float64)
        if ensure_2d and values.ndim == 0:
            raise ValueError(f"Expected 2D array, got scalar array instead:\narray={values}.\n" + _RESHAPE)
        if ensure_2d and values.ndim == 1:
            raise ValueError(f"Expected 2D array, got 1D array instead:\narray={values}.\n" + _RESHAPE)
        if not allow_nd and values.ndim >= 3:
            raise ValueError(f"Found array with dim {values.ndim}, while dim <= 2 is required{context}.")
        if values.dtype.kind in "fc":
            if np.isnan(values).any():
                padded = input_name + " " if input_name else ""
                message = f"Input {padded}contains NaN."
                if name and input_name == "X":
                    message += f"\n{name} does not accept missing values encoded as NaN natively."
                raise ValueError(message)
            if np.isinf(values).any():
                padded = input_name + " " if input_name else ""
                raise ValueError(f"Input {padded}contains infinity or a value too large for {values.dtype!r}.")
        if ensure_min_samples > 0 and values.ndim >= 1:
            n_samples = values.shape[0]
            if n_samples < ensure_min_samples:
                raise ValueError(f"Found array with {n_samples} sample(s) (shape={values.shape}) while a minimum "
                                 f"of {ensure_min_samples} is required{context}.")
        if ensure_min_features > 0 and values.ndim == 2 and values.shape[1] < ensure_min_features:
            raise ValueError(f"Found array with {values.shape[1]} feature(s) (shape={values.shape}) while a "
                             f"minimum of {ensure_min_features} is required{context}.")
        return values

    _RESHAPE = ("Reshape your data either using array.reshape(-1, 1) if your data has a single feature or "
                "array.reshape(1, -1) if it contains a single sample.")

    def validate_data(estimator, X, reset=True, **check_params):
        X = check_array(X, estimator=estimator, input_name="X", **check_params)
        if reset:
            estimator.n_features_in_ = X.shape[1]
        elif hasattr(estimator, "n_features_in_") and X.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                             f"{estimator.n_features_in_} features as input.")
        return X


# ---- the *_init arrays -----------------------------------------------------


def _check_shape(param, expected, name):
    if param.shape != expected:
        raise ValueError(f"The parameter '{name}' should have the shape of {expected}, but got {param.shape}")


def check_weights(weights, n_components):
    """weights_init as an array: shape (M,), values in [0, 1] summing to 1."""
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(weights, (n_components,), "weights")
    if (weights < 0.0).any() or (weights > 1.0).any():
        # scikit-learn's text names the minimum "max value" and the maximum "min value".
        raise ValueError("The parameter 'weights' should be in the range [0, 1], but got max value %.5f, "
                         "min value %.5f" % (np.min(weights), np.max(weights)))
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(float(np.abs(1.0 - np.sum(weights))), 0.0, atol=atol):
        raise ValueError("The parameter 'weights' should be normalized, but got sum(weights) = %.5f"
                         % np.sum(weights))
    return weights


def check_means(means, n_components, n_features):
    """means_init as an array of shape (M, D)."""
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(means, (n_components, n_features), "means")
    return means


def check_precisions(precisions, covariance_type, n_components, n_features):
    """precisions_init as an array of the covariance type's shape, symmetric
    positive definite (full, tied) or positive (diag, spherical)."""
    precisions = check_array(precisions, dtype=[np.float64, np.float32], ensure_2d=False,
                             allow_nd=covariance_type == "full")
    shapes = {"full": (n_components, n_features, n_features), "tied": (n_features, n_features),
              "diag": (n_components, n_features), "spherical": (n_components,)}
    _check_shape(precisions, shapes[covariance_type], f"{covariance_type} precision")
    if covariance_type in ("diag", "spherical"):
        if (precisions <= 0.0).any():
            raise ValueError(f"'{covariance_type} precision' should be positive")
    else:
        for matrix in precisions if covariance_type == "full" else [precisions]:
            if not (np.isclose(matrix, matrix.T).all() and (np.linalg.eigvalsh(matrix) > 0.0).all()):
                raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")
    return precisions
