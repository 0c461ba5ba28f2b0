"""Masked arrays (numpy.ma): compiled kernels compute on plain arrays and
would drop the mask, so a call with a masked argument (or out=) runs the
function as written, whose NumPy operations are np.ma's masked ones."""

import sys


def is_masked(value):
    """Whether `value` is a numpy.ma.MaskedArray (np.ma is not imported for it)."""
    ma = sys.modules.get("numpy.ma")
    return ma is not None and isinstance(value, ma.MaskedArray)


def refusal(args, out=None):
    """The reason a call with these arguments is not compiled, or None."""
    for position, value in enumerate(args):
        if is_masked(value):
            return (f"argument {position} is a masked array (numpy.ma): compiled kernels compute on plain arrays and "
                    "would drop its mask, so the function runs as written (np.ma's masked operations); to compile "
                    "it, pass a.filled(value) or a.data and combine the masks with np.ma.mask_or")
    if is_masked(out):
        return ("out is a masked array (numpy.ma): compiled kernels write plain arrays and would leave its mask, "
                "so the function runs as written; pass out.data to compile it")
    return None
