// Package train is the training loop that the native CLI and the browser
// worker share: steps with gradient accumulation, learning-rate schedules,
// validation, Keras-style callbacks (checkpoints, save-best, early stopping),
// history, and checkpoints that resume exactly. It knows nothing of files
// or terminals beyond what its callers hand it.
package train

import (
	"fmt"
	"math"
	"strings"
)

// Schedule gives the learning rate at each optimizer step.
type Schedule struct {
	Kind   string  // "constant", "step" or "cosine"
	BaseLR float64 // the rate after warm-up
	// Warmup steps ramp the rate linearly from BaseLR/Warmup to BaseLR.
	Warmup int
	// StepEvery and Gamma: "step" multiplies the rate by Gamma every
	// StepEvery steps (after warm-up), as torch's StepLR does per epoch
	// when StepEvery is an epoch's steps.
	StepEvery int
	Gamma     float64
	// Total is the number of steps of the run: "cosine" decays from BaseLR
	// to MinLR over the steps after warm-up.
	Total int
	MinLR float64
}

// Schedules lists the kinds.
var Schedules = []string{"constant", "step", "cosine"}

// Validate checks the schedule.
func (s *Schedule) Validate() error {
	if s.Kind == "" {
		s.Kind = "constant"
	}
	if !(s.BaseLR > 0) {
		return fmt.Errorf("schedule: learning rate must be positive, got %v", s.BaseLR)
	}
	if s.Warmup < 0 {
		return fmt.Errorf("schedule: warm-up must not be negative")
	}
	switch s.Kind {
	case "constant":
	case "step":
		if s.StepEvery <= 0 || !(s.Gamma > 0) {
			return fmt.Errorf("schedule: step needs a positive step size and gamma (got %d, %v)", s.StepEvery, s.Gamma)
		}
	case "cosine":
		if s.Total <= s.Warmup {
			return fmt.Errorf("schedule: cosine needs more steps (%d) than warm-up (%d)", s.Total, s.Warmup)
		}
	default:
		return fmt.Errorf("schedule: unknown kind %q (have %s)", s.Kind, strings.Join(Schedules, ", "))
	}
	return nil
}

// LR is the learning rate of step (counting from 0).
func (s *Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.BaseLR * float64(step+1) / float64(s.Warmup)
	}
	t := step - s.Warmup
	switch s.Kind {
	case "step":
		return s.BaseLR * math.Pow(s.Gamma, float64(t/s.StepEvery))
	case "cosine":
		n := s.Total - s.Warmup
		if t >= n {
			return s.MinLR
		}
		return s.MinLR + (s.BaseLR-s.MinLR)*0.5*(1+math.Cos(math.Pi*float64(t)/float64(n)))
	}
	return s.BaseLR
}
