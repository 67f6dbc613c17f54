"""Dumps that more than one test expects verbatim."""

# The seeds' Dense layer, `activation(weight @ x + bias)` on a class instance, exactly as ../shared/DESIGN.md shows it.
DESIGN_DENSE = """\
1: (%1 :: Dense, %2 :: ndarray[float64, 2])
  %3 = getattr(%1, 'weight') :: ndarray[float64, 2]
  %4 = operator.matmul(%3, %2) :: ndarray[float64, 2]
  %5 = getattr(%1, 'bias') :: ndarray[float64, 2]
  %6 = operator.add(%4, %5) :: ndarray[float64, 2]
  %7 = getattr(%1, 'activation') :: function
  %8 = %7(%6) :: ndarray[float64, 2]
  return %8"""
