"""Function sensitivity to dilution and binarization (see the modules)."""
