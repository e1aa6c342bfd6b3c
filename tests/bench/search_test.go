package bench

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// step is one probe of the rate search.
type step struct {
	Rate   float64
	OK     bool
	Reason string // why it failed; "" when OK
	// Confirm marks a full measurement window at a rate the search found.
	Confirm bool
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

// confirmStep is how much a confirmation lowers a rate that did not hold,
// at least; a window whose collector accepted less than the rate offered
// says more: the next try is just under what it did accept, down to
// confirmFloor of the rate at once.
const (
	confirmStep  = 0.9
	confirmFloor = 0.5
)

// confirmRate checks that rate holds for a whole measurement window
// (probe runs one and says how many items per second it accepted),
// lowering it until one does, at most tries times: a short search step
// can pass at a rate the collector cannot keep up through a span-metrics
// flush or a GC at a fuller heap. A step down to what an overloaded
// window accepted can go too deep, as refusing costs a collector CPU too
// (pyroscope-ingest: 407 uploads/s accepted of 566 offered at 470 per
// CPU-second), so once a rate holds more than a tenth under one that
// failed, the tries left bisect between the two. It returns the highest
// rate that held, 0 when none did.
func confirmRate(rate float64, tries int, probe func(rate float64) (ok bool, why string, accepted float64)) (float64, []step) {
	var steps []step
	held, failed := 0.0, 0.0
	for range tries {
		ok, why, accepted := probe(rate)
		steps = append(steps, step{Rate: rate, OK: ok, Reason: why, Confirm: true})
		if ok {
			held = rate
		} else {
			failed = rate
		}
		switch {
		case held == 0:
			next := rate * confirmStep
			if accepted > 0 {
				next = min(next, max(accepted*confirmStep, rate*confirmFloor))
			}
			rate = next
		case failed == 0 || held >= failed*confirmStep:
			return held, steps
		default:
			rate = (held + failed) / 2
		}
	}
	return held, steps
}

// Comparison rates: both setups of a comparison run at one offered rate,
// comfortably under what each sustained (commonShare of the lower), or at
// the group's rate goal when both sustain it. Comparisons whose rates lie
// within mergeTolerance of a lower one run at that lower rate, so a setup
// compared twice (the gateway) is measured once per round, not twice.
const (
	commonShare    = 0.85
	mergeTolerance = 1.15
)

// commonRates is the offered rate of each comparison (by index; 0 where a
// side sustained nothing).
func commonRates(comps []comparison, sustained map[string]float64, rateGoal float64) []float64 {
	rates := make([]float64, len(comps))
	for i, c := range comps {
		a, b := sustained[c.A], sustained[c.B]
		switch {
		case a <= 0 || b <= 0:
			rates[i] = 0
		case rateGoal > 0 && a >= rateGoal && b >= rateGoal:
			rates[i] = rateGoal
		default:
			rates[i] = commonShare * min(a, b)
		}
	}
	// A goal rate stays the goal rate, which is what its goal is about;
	// every other rate is below it (a pair at or above it runs at it).
	sorted := slices.Compact(slices.Sorted(slices.Values(rates)))
	bucket := map[float64]float64{}
	lo := 0.0
	for _, r := range sorted {
		if r == 0 || r == rateGoal {
			bucket[r] = r
			continue
		}
		if lo == 0 || r > lo*mergeTolerance {
			lo = r
		}
		bucket[r] = lo
	}
	for i, r := range rates {
		rates[i] = bucket[r]
	}
	return rates
}

// pairRatio is the median, over the rounds in which both a and b ran
// clean at rate, of a's items per CPU-second over b's in the same round,
// and how many of the rounds at rate were clean on both sides. A round
// that refused, lost or fell short on either side does not count: its
// CPU per item holds retried and refused work.
func pairRatio(a, b []sample, rate float64) (ratio float64, clean, rounds int) {
	byRound := map[int]sample{}
	for _, s := range b {
		if s.Rate == rate {
			byRound[s.Round] = s
		}
	}
	var xs []float64
	for _, sa := range a {
		sb, ok := byRound[sa.Round]
		if sa.Rate != rate || !ok {
			continue
		}
		rounds++
		if sa.Verdict == "" && sb.Verdict == "" {
			clean++
			xs = append(xs, sa.perCPUSecond()/sb.perCPUSecond())
		}
	}
	return median(xs), clean, rounds
}
