package faultproxy

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Mode is what the proxy does with one request.
type Mode string

const (
	// Pass forwards the request to the target and returns its answer as is.
	Pass Mode = "pass"
	// TooManyRequests answers 429, with Retry-After when the fault sets it.
	TooManyRequests Mode = "429"
	// InternalError answers 500.
	InternalError Mode = "500"
	// Unavailable answers 503, with Retry-After when the fault sets it.
	Unavailable Mode = "503"
	// BadRequest answers 400 with a body, as a store rejecting a batch does.
	BadRequest Mode = "400"
	// Reset reads the request, then closes the connection without an
	// answer, with SO_LINGER 0 so the client sees a TCP reset. Go's
	// transport replays an idempotent request (GET, or one with an
	// Idempotency-Key header) by itself after a reset on a reused
	// connection; the records show such a replay as a second request.
	Reset Mode = "reset"
	// Hang reads the request and holds it until the client gives up, the
	// proxy's max hang passes or the proxy closes; then it closes the
	// connection without an answer.
	Hang Mode = "hang"
)

// Fault is one decision: a mode and what goes with it.
type Fault struct {
	Mode Mode
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// 429 and 503 when positive.
	RetryAfter time.Duration
	// Body is the answer's body for 400, 429, 500 and 503; empty gives a
	// default naming the fault.
	Body string
}

// Plan decides the fault for each request. seq counts the requests the proxy
// has received since the plan was set, from 0. Decide must be a pure function
// of seq, so a run is reproducible whatever order concurrent requests arrive
// in: request seq always gets the same fault.
type Plan interface {
	Decide(seq int) Fault
}

// PassAll lets every request through.
type PassAll struct{}

// Decide implements Plan.
func (PassAll) Decide(int) Fault { return Fault{Mode: Pass} }

// Step is a run of requests that get the same fault.
type Step struct {
	Times int
	Fault Fault
}

// Times is a Step of n requests answered with f.
func Times(n int, f Fault) Step { return Step{Times: n, Fault: f} }

// Script is a fixed sequence of steps; requests past its end pass.
// Script{Times(3, Fault{Mode: Unavailable})} fails the first three requests
// with 503 and lets the rest through.
type Script []Step

// Decide implements Plan.
func (s Script) Decide(seq int) Fault {
	for _, st := range s {
		if seq < st.Times {
			return st.Fault
		}
		seq -= st.Times
	}
	return Fault{Mode: Pass}
}

// Weighted is one fault with the share of requests it gets.
type Weighted struct {
	P     float64
	Fault Fault
}

// Random fails each request independently: with probability P of the first
// choice it gets that fault, and so on; the remaining share passes. The draw
// for request seq comes from a generator seeded with (seed, seq), so it does
// not depend on other requests.
type Random struct {
	seed    uint64
	choices []Weighted
}

// NewRandom checks the shares (each in [0, 1], summing to at most 1) and
// returns the plan.
func NewRandom(seed uint64, choices ...Weighted) (*Random, error) {
	sum := 0.0
	for i, c := range choices {
		if c.P < 0 || c.P > 1 || c.P != c.P {
			return nil, fmt.Errorf("faultproxy: choice %d (%s): share %v is not in [0, 1]", i, c.Fault.Mode, c.P)
		}
		sum += c.P
	}
	if sum > 1+1e-9 {
		return nil, fmt.Errorf("faultproxy: shares sum to %v, more than 1", sum)
	}
	return &Random{seed: seed, choices: choices}, nil
}

// Decide implements Plan.
func (r *Random) Decide(seq int) Fault {
	x := rand.New(rand.NewPCG(r.seed, uint64(seq))).Float64()
	for _, c := range r.choices {
		if x < c.P {
			return c.Fault
		}
		x -= c.P
	}
	return Fault{Mode: Pass}
}

var (
	_ Plan = PassAll{}
	_ Plan = Script(nil)
	_ Plan = (*Random)(nil)
)
