package bench

import (
	"fmt"
	"math"
	"sort"
)

// step is one probe of the rate search.
type step struct {
	Rate   float64
	OK     bool
	Reason string // why it failed; "" when OK
}

// searchRate finds the highest rate probe accepts: it doubles from start
// while probes pass (halving first if start already fails, down to
// start/64), then bisects the bracket geometrically refine times. It
// returns 0 when even the lowest rate fails. Probes are noisy on a shared
// machine, so the result is the highest rate that passed, never one that
// was only inferred.
func searchRate(start, maxRate float64, refine int, probe func(rate float64) (bool, string)) (float64, []step) {
	var steps []step
	try := func(r float64) bool {
		ok, why := probe(r)
		steps = append(steps, step{Rate: r, OK: ok, Reason: why})
		return ok
	}
	lo, hi := 0.0, 0.0
	r := start
	if try(r) {
		lo = r
		for {
			r *= 2
			if r > maxRate {
				return lo, steps
			}
			if !try(r) {
				hi = r
				break
			}
			lo = r
		}
	} else {
		hi = r
		for r > start/64 {
			r /= 2
			if try(r) {
				lo = r
				break
			}
			hi = r
		}
		if lo == 0 {
			return 0, steps
		}
	}
	for range refine {
		mid := math.Sqrt(lo * hi)
		if try(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, steps
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// si prints a rate or count with a k/M suffix, three significant digits.
func si(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 1e6:
		return trim3(v/1e6) + "M"
	case a >= 1e3:
		return trim3(v/1e3) + "k"
	default:
		return trim3(v)
	}
}

func trim3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
